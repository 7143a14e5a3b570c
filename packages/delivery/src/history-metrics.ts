import type { Database } from '@herald/db';
import { executeRows, idTimeBound, idTimestamp, QUEUED_STATUSES_SQL } from '@herald/db';
import { sql } from 'drizzle-orm';

/**
 * The history tables' figures, from the database (the same whichever dispatcher is asked):
 * size and partitions per table, the age of the oldest row kept, and the deliveries past
 * retention that keep their day from being dropped (pending or in flight).
 */
export async function historyMetricLines(db: Database, retentionMs: number, now = Date.now()): Promise<string[]> {
  const tables = await executeRows<{ name: string; bytes: string | number; partitions: number; oldest: string | null }>(
    db,
    sql`select t.name,
               (select coalesce(sum(pg_total_relation_size(relid)), 0) from pg_partition_tree(t.name::regclass)) as bytes,
               (select count(*)::int from pg_partition_tree(t.name::regclass) where isleaf) as partitions,
               case t.name when 'events' then (select min(id) from events)
                           when 'deliveries' then (select min(id) from deliveries)
                           else (select min(id) from delivery_attempts) end as oldest
        from (values ('events'), ('deliveries'), ('delivery_attempts')) as t(name)`,
  );
  const cutoff = now - retentionMs;
  const [awaiting] = await executeRows<{ n: number }>(
    db,
    sql`select count(*)::int as n from deliveries
        where id < ${idTimeBound('delivery', cutoff)} and status ${sql.raw(QUEUED_STATUSES_SQL)}`,
  );
  const lines = [
    '# HELP herald_history_table_bytes Size of a history table, all partitions and indexes.',
    '# TYPE herald_history_table_bytes gauge',
    ...tables.map((t) => `herald_history_table_bytes{table="${t.name}"} ${Number(t.bytes)}`),
    '# HELP herald_history_partitions Partitions of a history table (days, legacy, default).',
    '# TYPE herald_history_partitions gauge',
    ...tables.map((t) => `herald_history_partitions{table="${t.name}"} ${Number(t.partitions)}`),
    '# HELP herald_history_oldest_seconds Age of the oldest row a history table keeps.',
    '# TYPE herald_history_oldest_seconds gauge',
    ...tables.map((t) => `herald_history_oldest_seconds{table="${t.name}"} ${oldestAge(t.oldest, now)}`),
    '# HELP herald_retention_blocked_deliveries Deliveries past retention still pending or in flight: their day is kept.',
    '# TYPE herald_retention_blocked_deliveries gauge',
    `herald_retention_blocked_deliveries ${Number(awaiting?.n ?? 0)}`,
  ];
  return lines;
}

function oldestAge(id: string | null, now: number): number {
  const at = id ? idTimestamp(id) : null;
  return at ? Math.max(0, (now - at.getTime()) / 1000) : 0;
}
