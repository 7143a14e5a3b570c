/**
 * Past history for the growth benchmark, laid out as a Herald that has been running for `days`
 * days holds it: one partition per UTC day (created by Herald's own `createPartitionsAhead`),
 * ids minted at their row's time as `newIdAt` mints them (so each row lands in its day's
 * partition; deliveries at their event's time, attempts at their delivery's), and payloads
 * past payload retention already cleared and those days rewritten, as the hourly maintenance
 * would have left them.
 */
import { createDb, newId } from '@herald/db';
import { compactHistoryTable, createPartitionsAhead, defaultDispatcherConfig } from '@herald/delivery';
import type { Project, Sql } from './fixtures';
import { userCreatedData } from './fixtures';
import { monoMs } from './stats';

const DAY_MS = 86_400_000;
/** Deliveries per event: one to each of ten endpoints (the benchmark's own among them). */
const FAN_OUT = 10;
/** Days written side by side: one per core. */
const LANES = 2;

export interface History {
  deliveries: number;
  events: number;
  days: number;
  /** Start of the oldest day written (UTC midnight), ms. */
  fromMs: number;
  loadSeconds: number;
  /** VACUUM and ANALYZE after the load. */
  vacuumSeconds: number;
}

/**
 * An id's 10 base32 time characters (`encodeTime` in packages/db/src/ids.ts) as one SQL
 * expression: a plain SQL function, so the planner inlines it into the INSERT … SELECT.
 */
const ID_TIME_FUNCTION = `
  create or replace function bench_id_time(ms bigint) returns text language sql immutable parallel safe as $$
    select ${Array.from({ length: 10 }, (_, i) => `substr('0123456789abcdefghjkmnpqrstvwxyz', ((ms >> ${5 * (9 - i)}) & 31)::int + 1, 1)`).join(' || ')}
  $$`;

/**
 * The day's events as rows (e, t = its time in ms, tp = its id's time characters, ts), computed
 * once per event (`offset 0` keeps the planner from recomputing them per delivery).
 */
function eventsOf(e0: number, e1: number, eventAt: (e: string) => string): string {
  return `(select e, t, bench_id_time(t) as tp, to_timestamp(t / 1000.0) as ts
           from (select e, ${eventAt('e')} as t from generate_series(${e0}, ${e1}) e) s offset 0) ev`;
}

/** SQL for an id of `prefix` whose time characters are `tp`; its other 16 characters are `key` in hex (hex digits are base32 digits). */
function idOf(prefix: string, tp: string, key: string): string {
  return `'${prefix}_' || ${tp} || lpad(to_hex(${key}), 16, '0')`;
}

/**
 * `deliveries` succeeded deliveries with one attempt each, over `deliveries / 10` events fanned
 * out to ten endpoints, spread evenly over the `days` UTC days before today. Server-side
 * INSERT … SELECT from generate_series, one day (three statements) per transaction, two days
 * at a time. Foreign-key triggers are off for the load (`session_replication_role = replica`:
 * the rows are consistent by construction) and commits are asynchronous; then the days past
 * payload retention are compacted, every day is vacuumed (two at a time) and the tables analyzed.
 */
export async function loadHistory(
  sql: Sql,
  url: string,
  project: Project,
  options: { deliveries: number; days: number; now?: number },
): Promise<History> {
  const started = monoMs();
  const now = options.now ?? Date.now();
  const { days } = options;
  const fromMs = Math.floor(now / DAY_MS) * DAY_MS - days * DAY_MS;
  const events = Math.ceil(options.deliveries / FAN_OUT);
  const endpoints = [project.endpointId!];
  for (let i = 1; i < FAN_OUT; i++) {
    const id = newId('endpoint');
    await sql`insert into endpoints (id, project_id, url) values (${id}, ${project.projectId}, 'https://example.com/hook')`;
    endpoints.push(id);
  }
  await partitionDays(sql, url, fromMs, days);
  await sql.unsafe(ID_TIME_FUNCTION);

  const data = JSON.stringify({ user: { ...userCreatedData().user, metadata: { plan: 'pro' } } });
  // Older than this, the hourly maintenance has cleared the payload and the response excerpt.
  const payloadCutoff = now - defaultDispatcherConfig.payloadRetentionMs;
  const expired = (t: string) => `${t} < ${payloadCutoff}::bigint`;
  // Event e's time: evenly spread, so day d holds events ceil(d·E/days) … ceil((d+1)·E/days) − 1.
  const eventAt = (e: string) => `${fromMs}::bigint + (${e})::bigint * ${days * DAY_MS}::bigint / ${events}::bigint`;
  const firstEvent = (day: number) => Math.ceil((day * events) / days);

  const writeDay = async (day: number) => {
    const e0 = firstEvent(day);
    const e1 = Math.min(events, firstEvent(day + 1)) - 1;
    if (e1 < e0) return;
    const ev = eventsOf(e0, e1, eventAt);
    // Each event's deliveries (g = 10e … 10e + 9, the last event's cut at the total), in id order.
    const fanOut = `lateral (select g from generate_series(ev.e * ${FAN_OUT}, least(ev.e * ${FAN_OUT} + ${FAN_OUT - 1}, ${options.deliveries - 1})) g) d`;
    await sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`set local synchronous_commit = off`;
      await tx.unsafe(
        `insert into events (id, project_id, type, version, data, created_at, payload_expired_at)
         select ${idOf('evt', 'tp', 'e')}, $1, 'user.created', 1,
                case when ${expired('t')} then '{}'::jsonb else $2::jsonb end, ts,
                case when ${expired('t')} then to_timestamp(${payloadCutoff} / 1000.0) end
         from ${ev}`,
        [project.projectId, data],
      );
      await tx.unsafe(
        `insert into deliveries (id, project_id, endpoint_id, event_id, status, attempt_count, last_status_code,
                                 next_attempt_at, created_at, updated_at, completed_at)
         select ${idOf('dlv', 'tp', 'g')}, $1, ($2::text[])[1 + g % ${FAN_OUT}], ${idOf('evt', 'tp', 'e')},
                'succeeded', 1, 204, null, ts, ts + interval '40 ms', ts + interval '40 ms'
         from ${ev}, ${fanOut}`,
        [project.projectId, endpoints],
      );
      await tx.unsafe(
        `insert into delivery_attempts (id, delivery_id, attempt_number, started_at, duration_ms, status_code, response_body)
         select ${idOf('att', 'tp', 'g')}, ${idOf('dlv', 'tp', 'g')}, 1, ts, 35, 204,
                case when ${expired('t')} then null else '' end
         from ${ev}, ${fanOut}`,
      );
    });
  };
  await inLanes(days, writeDay);
  const loaded = monoMs();
  // Each day wholly past payload retention rewritten as Herald's maintenance rewrites it once its
  // payloads are all cleared (packed, fresh indexes, marked), by Herald's own function. Then, as
  // autovacuum would have by the time a database is this old: the visibility map set (the
  // index-only scans of retention's detach checks skip the heap), then the statistics.
  const herald = await createDb({ url, migrate: false, maxConnections: LANES });
  try {
    await inLanes(days, async (day) => {
      const dayMs = fromMs + day * DAY_MS;
      const suffix = `p${new Date(dayMs).toISOString().slice(0, 10).replaceAll('-', '')}`;
      for (const table of ['events', 'deliveries', 'delivery_attempts']) {
        if (dayMs + DAY_MS <= payloadCutoff) {
          await herald.db.transaction((tx) => compactHistoryTable(tx as never, `${table}_${suffix}`));
        }
        await sql.unsafe(`vacuum ${table}_${suffix}`);
      }
    });
  } finally {
    await herald.close();
  }
  await sql`analyze events, deliveries, delivery_attempts`;
  return {
    deliveries: options.deliveries,
    events,
    days,
    fromMs,
    loadSeconds: (loaded - started) / 1000,
    vacuumSeconds: (monoMs() - loaded) / 1000,
  };
}

/**
 * One partition per day from `fromMs` on, made by Herald's own maintenance function. A fresh
 * database's `_legacy` partitions take every id before its migration day; they are empty here
 * and go, as they would have gone past retention in a database this old.
 */
async function partitionDays(sql: Sql, url: string, fromMs: number, days: number): Promise<void> {
  for (const table of ['delivery_attempts', 'deliveries', 'events']) {
    await sql.unsafe(`alter table ${table} detach partition ${table}_legacy`);
    await sql.unsafe(`drop table ${table}_legacy`);
  }
  const herald = await createDb({ url, migrate: false, maxConnections: 1 });
  try {
    await createPartitionsAhead(herald.db, { now: new Date(fromMs), daysAhead: days });
  } finally {
    await herald.close();
  }
}

/** Bytes of each history table, all partitions and indexes. */
export interface HistorySizes {
  /** Per table: the partitions of days before today (the loaded history), the default and legacy ones. */
  past: Record<string, number>;
  /** Per table: today's partition and those ahead, where the bench's own backlog and its dispatch write. */
  live: Record<string, number>;
}

/**
 * The history tables' size (`pg_total_relation_size`, indexes and TOAST included) over their
 * partitions, split at today's (UTC) partition: retention never touches the live day, which holds
 * the backlog the bench writes and sends while it measures.
 */
export async function historySizes(sql: Sql): Promise<HistorySizes> {
  const today = `p${new Date().toISOString().slice(0, 10).replace(/-/g, '')}`;
  const rows = await sql<{ name: string; live: boolean; bytes: string }[]>`
    select t.name, (c.relname ~ '_p[0-9]{8}$' and right(c.relname, 9) >= ${today}) as live,
           sum(pg_total_relation_size(p.relid))::text as bytes
    from (values ('events'), ('deliveries'), ('delivery_attempts')) as t(name)
    cross join lateral pg_partition_tree(t.name::regclass) p
    join pg_class c on c.oid = p.relid
    group by 1, 2`;
  const sizes: HistorySizes = { past: {}, live: {} };
  for (const name of ['events', 'deliveries', 'delivery_attempts']) {
    sizes.past[name] = 0;
    sizes.live[name] = 0;
  }
  for (const row of rows) sizes[row.live ? 'live' : 'past'][row.name] = Number(row.bytes);
  return sizes;
}

/** `work(0 … count − 1)`, `LANES` at a time. */
async function inLanes(count: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: LANES }, async () => {
      while (next < count) await work(next++);
    }),
  );
}
