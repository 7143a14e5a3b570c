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
  /** Days the default partition already holds rows of: creating them would fail; the rows stay there. */
  blockedByDefault: string[];
}

/** A day partition of one history table that does not exist yet. */
export interface MissingPartition {
  table: string;
  name: string;
  /** Its ids' bounds: from `lo` (included) to `hi` (excluded). */
  lo: string;
  hi: string;
}

/** The day partitions from today to `daysAhead` days ahead that do not exist yet. */
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
  const today = dayStart(options.now.getTime());
  for (let i = 0; i <= options.daysAhead; i++) {
    const from = today + i * DAY_MS;
    const to = from + DAY_MS;
    for (const { table, kind } of historyTables) {
      const name = `${table}_${daySuffix(from)}`;
      if (existing.has(name) || covered(table, from, to)) continue;
      missing.push({ table, name, lo: idTimeBound(kind, from), hi: idTimeBound(kind, to) });
    }
  }
  return missing;
}

/**
 * Creates one day partition. Attaching a range the default partition holds rows of fails: those
 * rows are left be, and the partition is not created (`false`).
 */
export async function createPartition(db: Queryable, partition: MissingPartition): Promise<boolean> {
  const { table, name, lo, hi } = partition;
  const [inDefault] = await executeRows<{ n: number }>(
    db,
    sql`select count(*)::int as n from ${sql.identifier(`${table}_default`)} where id >= ${lo} and id < ${hi}`,
  );
  if (Number(inDefault?.n ?? 0) > 0) return false;
  await db.execute(
    sql.raw(`create table if not exists "${name}" partition of "${table}" for values from ('${lo}') to ('${hi}')`),
  );
  return true;
}

/**
 * Creates the day partitions from today to `daysAhead` days ahead that do not exist yet, so
 * inserts land in a day partition rather than the default one.
 */
export async function createPartitionsAhead(
  db: Queryable,
  options: { now: Date; daysAhead: number },
): Promise<CreatedPartitions> {
  const result: CreatedPartitions = { created: [], blockedByDefault: [] };
  for (const partition of await missingPartitionsAhead(db, options)) {
    if (await createPartition(db, partition)) result.created.push(partition.name);
    else result.blockedByDefault.push(partition.name);
  }
  return result;
}
