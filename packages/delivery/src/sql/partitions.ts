import type { IdKind, Queryable } from '@herald/db';
import { executeRows, idTimeBound, idTimestamp } from '@herald/db';
import { sql } from 'drizzle-orm';

const DAY_MS = 86_400_000;

/**
 * The history tables, partitioned by RANGE on their id (migration 0005): one partition per UTC
 * day (`<table>_pYYYYMMDD`), `<table>_legacy` for rows older than the migration, and
 * `<table>_default` for ids outside every range. Retention drops one day of all three, one table
 * at a time (no foreign key points across them: sql/retention.ts).
 */
export const historyTables: ReadonlyArray<{ table: string; kind: IdKind }> = [
  { table: 'delivery_attempts', kind: 'attempt' },
  { table: 'deliveries', kind: 'delivery' },
  { table: 'events', kind: 'event' },
];

export interface HistoryPartition {
  table: string;
  name: string;
  /** The day's key shared by the three tables' partitions: `p20261203`, `legacy`, or `default`. */
  suffix: string;
  /** Ids of this time and later (null: from the smallest value, or the default partition). */
  from: Date | null;
  /** Ids before this time (null: the default partition). */
  to: Date | null;
}

export function dayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

function daySuffix(dayMs: number): string {
  return `p${new Date(dayMs).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

function boundTime(expression: string, keyword: 'FROM' | 'TO'): Date | null {
  const match = new RegExp(`${keyword} \\('([^']+)'\\)`).exec(expression);
  if (!match) return null;
  // A bound is an id's prefix and time; idTimestamp wants the full 26 characters.
  return idTimestamp(`${match[1]}${'0'.repeat(16)}`);
}

/** Every partition of the three history tables, with its time range. */
export async function listHistoryPartitions(db: Queryable): Promise<HistoryPartition[]> {
  const rows = await executeRows<{ parent: string; name: string; bound: string }>(
    db,
    sql`select p.relname as parent, c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound
        from pg_inherits i
        join pg_class c on c.oid = i.inhrelid
        join pg_class p on p.oid = i.inhparent
        join pg_namespace n on n.oid = p.relnamespace
        where n.nspname = current_schema() and p.relname in ('events', 'deliveries', 'delivery_attempts')
        order by c.relname`,
  );
  return rows.map((r) => ({
    table: r.parent,
    name: r.name,
    suffix: r.name.slice(r.parent.length + 1),
    from: boundTime(r.bound, 'FROM'),
    to: boundTime(r.bound, 'TO'),
  }));
}

export interface CreatedPartitions {
  created: string[];
}

/** A day partition of one history table that does not exist yet. */
export interface MissingPartition {
  table: string;
  name: string;
  /** Its ids' bounds: from `lo` (included) to `hi` (excluded). */
  lo: string;
  hi: string;
}

/**
 * The day partitions from today to `daysAhead` days ahead that do not exist yet, and those of the
 * days the default partition holds rows of (written while no maintenance ran to create them: past
 * days included), which `createPartition` moves there.
 */
export async function missingPartitionsAhead(
  db: Queryable,
  options: { now: Date; daysAhead: number },
): Promise<MissingPartition[]> {
  const partitions = await listHistoryPartitions(db);
  const existing = new Set(partitions.map((p) => p.name));
  // A day some other range already covers (the legacy partition, before the migration) is not created.
  const covered = (table: string, from: number, to: number) =>
    partitions.some(
      (p) => p.table === table && p.to !== null && (p.from === null || p.from.getTime() < to) && p.to.getTime() > from,
    );
  const missing: MissingPartition[] = [];
  const add = (table: string, kind: IdKind, from: number) => {
    const to = from + DAY_MS;
    const name = `${table}_${daySuffix(from)}`;
    if (existing.has(name) || covered(table, from, to)) return;
    existing.add(name);
    missing.push({ table, name, lo: idTimeBound(kind, from), hi: idTimeBound(kind, to) });
  };
  const today = dayStart(options.now.getTime());
  for (let i = 0; i <= options.daysAhead; i++) {
    for (const { table, kind } of historyTables) add(table, kind, today + i * DAY_MS);
  }
  for (const { table, kind } of historyTables) {
    if (!partitions.some((p) => p.table === table && p.suffix === 'default')) continue;
    for (const day of await daysInDefault(db, table, kind)) add(table, kind, day);
  }
  return missing;
}

/** Most days of the default partition one run looks at (each is one index probe). */
const MAX_DEFAULT_DAYS = 400;

/** The UTC days the default partition of `table` holds rows of, oldest first. */
async function daysInDefault(db: Queryable, table: string, kind: IdKind): Promise<number[]> {
  const days: number[] = [];
  let from = idTimeBound(kind, 0);
  while (days.length < MAX_DEFAULT_DAYS) {
    const [row] = await executeRows<{ id: string | null }>(
      db,
      sql`select min(id) as id from ${sql.identifier(`${table}_default`)} where id >= ${from}`,
    );
    const time = row?.id ? idTimestamp(row.id) : null;
    if (!time) break;
    const day = dayStart(time.getTime());
    days.push(day);
    from = idTimeBound(kind, day + DAY_MS);
  }
  return days;
}

/**
 * Creates one day partition, in the caller's transaction. Rows of its day in the default
 * partition (written while no partition covered the day) are moved into it: PostgreSQL refuses
 * to attach a range the default partition holds rows of, and left there, retention (which drops
 * whole day partitions) never removed them, nor the rest of their day.
 */
export async function createPartition(db: Queryable, partition: MissingPartition): Promise<void> {
  const { table, name, lo, hi } = partition;
  const fallback = sql.identifier(`${table}_default`);
  const [inDefault] = await executeRows<{ n: number }>(
    db,
    sql`select count(*)::int as n from ${fallback} where id >= ${lo} and id < ${hi}`,
  );
  if (Number(inDefault?.n ?? 0) === 0) {
    await db.execute(
      sql.raw(`create table if not exists "${name}" partition of "${table}" for values from ('${lo}') to ('${hi}')`),
    );
    return;
  }
  // No row of the day may reach the default partition meanwhile; few rows are ever there.
  await db.execute(sql`lock table ${fallback} in access exclusive mode`);
  await db.execute(sql.raw(`create table "${name}" (like "${table}" including defaults including constraints)`));
  await db.execute(sql`with moved as (delete from ${fallback} where id >= ${lo} and id < ${hi} returning *)
    insert into ${sql.identifier(name)} select * from moved`);
  await db.execute(sql.raw(`alter table "${table}" attach partition "${name}" for values from ('${lo}') to ('${hi}')`));
}

/**
 * Creates the day partitions from today to `daysAhead` days ahead that do not exist yet, so
 * inserts land in a day partition rather than the default one.
 */
export async function createPartitionsAhead(
  db: Queryable,
  options: { now: Date; daysAhead: number },
): Promise<CreatedPartitions> {
  const result: CreatedPartitions = { created: [] };
  for (const partition of await missingPartitionsAhead(db, options)) {
    await createPartition(db, partition);
    result.created.push(partition.name);
  }
  return result;
}
