import type { Database } from '@herald/db';
import { executeRows, idTimeBound, idTimestamp, QUEUED_STATUSES_SQL } from '@herald/db';
import { sql } from 'drizzle-orm';
import { awaitLongLockHolders, briefLockWaits } from './lock-waits';
import type { HistoryPartition } from './partitions';
import { listHistoryPartitions } from './partitions';

/** One day (or the legacy range) of history: the same range of the three tables. */
export interface HistoryDay {
  suffix: string;
  from: Date | null;
  to: Date;
}

export type DropOutcome = { dropped: true } | { dropped: false; queued: number };

/** Days whose every id is older than `cutoff`: due to be dropped. The default partition never is. */
export async function daysPastRetention(db: Database, cutoff: Date): Promise<HistoryDay[]> {
  const events = (await listHistoryPartitions(db)).filter(
    (p): p is HistoryPartition & { to: Date } => p.table === 'events' && p.to !== null,
  );
  return events
    .filter((p) => p.to.getTime() <= cutoff.getTime())
    .sort((a, b) => a.to.getTime() - b.to.getTime())
    .map((p) => ({ suffix: p.suffix, from: p.from, to: p.to }));
}

/**
 * Pending and in-flight deliveries that keep each of `days` (by suffix; a day without any is
 * absent): those in it, and those of other days that point at its events (ids minted before they
 * were aligned: a delivery at its own time, not its event's). One statement for the whole run,
 * over the queued rows only, rather than two per day (planning each over every partition cost
 * more than the drops).
 */
export async function queuedByHistoryDay(db: Database, days: HistoryDay[]): Promise<Map<string, number>> {
  const kept = new Map<string, number>();
  const last = days.at(-1);
  if (!last) return kept;
  const idBound = idTimeBound('delivery', last.to.getTime());
  const rows = await executeRows<{ id: string; event_id: string }>(
    db,
    // Two halves, not one `or`: each bound on `id` prunes partitions (the first reads only the days
    // going; the second only the others, by the event index). With the `or`, every queued row of
    // a backlog was read: 120 ms of a retention run for 50,000 of them.
    sql`select id, event_id from deliveries
        where id < ${idBound} and status ${sql.raw(QUEUED_STATUSES_SQL)}
        union all
        select id, event_id from deliveries
        where id >= ${idBound} and event_id < ${idTimeBound('event', last.to.getTime())}
          and status ${sql.raw(QUEUED_STATUSES_SQL)}`,
  );
  for (const row of rows) {
    const own = dayOf(days, row.id);
    const pointed = dayOf(days, row.event_id);
    for (const day of new Set([own, pointed])) {
      if (day) kept.set(day.suffix, (kept.get(day.suffix) ?? 0) + 1);
    }
  }
  return kept;
}

/** The day of `days` an id (of any kind) was minted in. */
function dayOf(days: HistoryDay[], id: string): HistoryDay | undefined {
  const ms = idTimestamp(id)?.getTime();
  return ms === undefined ? undefined : days.find((d) => (!d.from || d.from.getTime() <= ms) && ms < d.to.getTime());
}

/** A day's history table (`deliveries_p20261203`, `events_legacy`): Herald's own names, safe to write into a statement. */
const HISTORY_DAY_TABLE = '^(events|deliveries|delivery_attempts)_(p[0-9]{8}|legacy)$';
const historyDayTable = new RegExp(HISTORY_DAY_TABLE);

/** Throws unless `name` is one of Herald's day history tables: safe to write into a statement. */
export function assertHistoryDayTable(name: string): void {
  if (!historyDayTable.test(name)) throw new Error(`not a history table: ${name}`);
}

/** `names` as a SQL text array literal, each checked against HISTORY_DAY_TABLE first. */
function historyTablesArray(names: string[]): string {
  for (const name of names) assertHistoryDayTable(name);
  return `array[${names.map((name) => `'${name}'`).join(',')}]::text[]`;
}

/**
 * Detaches those of `days`' partitions of `table` still attached, in one round trip: catalog only,
 * nothing to check or copy. One statement rather than two per day: the caller holds `table` locked
 * against every writer meanwhile, and on a busy host each round trip waits for a core (detaching
 * 30 days of deliveries took 157 ms as 60 statements, 56–78 ms as one, in bench 5c).
 */
async function detachPartitionsIfAttached(tx: Database, table: string, days: HistoryDay[]): Promise<void> {
  if (days.length === 0) return;
  const partitions = historyTablesArray(days.map((day) => `${table}_${day.suffix}`));
  await tx.execute(
    sql.raw(`do $$ declare p text; begin
      foreach p in array ${partitions} loop
        if (select relispartition from pg_class where oid = to_regclass(p)) then
          execute format('alter table %I detach partition %I', '${table}', p);
        end if;
      end loop;
    end $$`),
  );
}

/**
 * The first step, in one short transaction for all of `days`: locks `deliveries` once, counts
 * again which days' own deliveries are queued (one may have been requeued since
 * `queuedByHistoryDay`; one statement over the queued rows of those days) and detaches the
 * deliveries partitions of the others. Never a mass DELETE. Detaching is catalog work: nothing
 * points at the history tables' partitions, so there is nothing to check; the files are unlinked
 * later, by `dropDetachedHistory`, without a lock on the tables writers use.
 *
 * One lock for the whole run rather than one per day: each `access exclusive` lock waits for the
 * writers' transactions in progress and holds up every claim and finish queued behind it, and
 * each detach makes every backend rebuild the table's partition map; 30 of them in a row cost the
 * dispatchers a quarter of their throughput during the run (bench 5c), one costs a pause.
 *
 * `deliveries` alone in its transaction, so this never holds it while waiting for another history
 * table, the pattern of a deadlock with writers (the API takes events then deliveries, the
 * dispatcher attempts then deliveries, a claim deliveries then events).
 */
export async function detachHistoryDaysDeliveries(tx: Database, days: HistoryDay[]): Promise<Map<string, DropOutcome>> {
  const outcomes = new Map<string, DropOutcome>();
  const last = days.at(-1);
  if (!last) return outcomes;
  await briefLockWaits(tx);
  await awaitLongLockHolders(tx, ['deliveries']);
  await tx.execute(sql`lock table deliveries in access exclusive mode`);
  // Counted per partition in the statement: a day kept for a large retry backlog must not send
  // its ids to this process while the lock is held.
  const rows = await executeRows<{ partition: string; n: number }>(
    tx,
    sql`select tableoid::regclass::text as partition, count(*)::int as n from deliveries
        where id < ${idTimeBound('delivery', last.to.getTime())} and status ${sql.raw(QUEUED_STATUSES_SQL)}
        group by 1`,
  );
  const queued = new Map<string, number>();
  // `deliveries_p20261203` (schema-qualified when not on the search path): the day's suffix.
  for (const row of rows)
    queued.set(
      row.partition
        .replace(/"/g, '')
        .replace(/^.*\./, '')
        .replace(/^deliveries_/, ''),
      Number(row.n),
    );
  const going: HistoryDay[] = [];
  for (const day of days) {
    const n = queued.get(day.suffix) ?? 0;
    if (n > 0) outcomes.set(day.suffix, { dropped: false, queued: n });
    else {
      going.push(day);
      outcomes.set(day.suffix, { dropped: true });
    }
  }
  await detachPartitionsIfAttached(tx, 'deliveries', going);
  return outcomes;
}

/**
 * Then, in one more transaction, the attempts and events of the days whose deliveries went
 * (`detachHistoryDaysDeliveries` first: its deliveries decide whether a day goes). Holding
 * attempts while waiting for events closes no cycle: no writer takes attempts after events.
 * Events go last: their partition is what marks a day as still to drop, should this step be left
 * to the next run.
 */
export async function detachHistoryDaysRest(tx: Database, days: HistoryDay[]): Promise<void> {
  if (days.length === 0) return;
  await briefLockWaits(tx);
  await awaitLongLockHolders(tx, ['delivery_attempts', 'events']);
  await detachPartitionsIfAttached(tx, 'delivery_attempts', days);
  await detachPartitionsIfAttached(tx, 'events', days);
}

/** History tables detached from their parent and not dropped yet (this run's, or a run that died). */
export async function detachedHistory(tx: Database): Promise<string[]> {
  const rows = await executeRows<{ name: string }>(
    tx,
    sql`select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = current_schema() and c.relkind = 'r' and not c.relispartition
          and c.relname ~ ${HISTORY_DAY_TABLE}
        order by 1`,
  );
  return rows.map((r) => r.name);
}

/**
 * Drops the foreign keys detached history tables kept (to projects and endpoints), in a short
 * transaction of its own: dropping one locks the table it points at, which claims read, and the
 * drop that follows takes a while (it unlinks the files).
 */
export async function releaseDetachedHistory(tx: Database): Promise<void> {
  await briefLockWaits(tx);
  const tables = await detachedHistory(tx);
  if (tables.length === 0) return;
  await awaitLongLockHolders(tx, ['endpoints', 'projects']);
  // One round trip: dropping each key locks the table it points at.
  await tx.execute(
    sql.raw(`do $$ declare k record; begin
      for k in select c.relname as t, con.conname as n from pg_constraint con join pg_class c on c.oid = con.conrelid
          where con.contype = 'f' and c.relnamespace = to_regnamespace(current_schema())
            and c.relname = any(${historyTablesArray(tables)}) loop
        execute format('alter table %I drop constraint %I', k.t, k.n);
      end loop;
    end $$`),
  );
}

/**
 * Drops the detached history tables among `tables` (`releaseDetachedHistory` first): only they
 * are locked. Those gone already (another run dropped them) are skipped.
 */
export async function dropDetachedTables(tx: Database, tables: string[]): Promise<string[]> {
  await briefLockWaits(tx);
  const rows = await executeRows<{ name: string }>(
    tx,
    sql`select c.relname as name from pg_class c
        where c.relnamespace = to_regnamespace(current_schema()) and c.relkind = 'r' and not c.relispartition
          and c.relname = any(${`{${tables.join(',')}}`}::text[])`,
  );
  const names = rows.map((r) => r.name);
  if (names.length) await tx.execute(sql.raw(`drop table ${names.map((t) => `"${t}"`).join(', ')}`));
  return names;
}
