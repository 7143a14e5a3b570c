import type { Database } from '@herald/db';
import { executeRows } from '@herald/db';
import { sql } from 'drizzle-orm';
import { isQueuedRow } from './due';
import { briefLockWaits } from './lock-waits';
import { listHistoryPartitions } from './partitions';
import type { QueueWindow } from './queue-window';

/** A partition is re-analysed once it has changed by this many rows, or by its own size if larger. */
const MIN_CHANGES = 1_000;

/** Queued rows are counted up to this many (entries of the partial queued index) to check the estimate. */
const QUEUED_COUNT_CAP = 20_000;

/**
 * ANALYZEs the `deliveries` partitions inside the queue window whose statistics lag their
 * rows; returns their names. The claim's plan (made once per connection, and again after each
 * ANALYZE of a table it reads) follows these statistics: a day partition that filled faster
 * than autovacuum's next visit (up to a minute, and only after 10 % of its last known size has
 * changed) still looks nearly empty, so the planner picks a bitmap of the whole id range for
 * each step of the claim's endpoint scan. Measured in the fairness benchmark: claims grew from ~5 ms to ~120 ms while a tenant
 * had 200 endpoints queued, and the other tenant's p99 went from 90 ms to 7.9 s; with fresh
 * statistics it stayed at 78–110 ms. The threshold (a partition's own size, at least 1,000
 * rows) keeps estimates within about 2× while costing a few ANALYZEs per partition per day.
 *
 * A partition also lags when its queue outgrew what its statistics say, however small the change
 * is next to its size: a day analysed while its queue was empty (by autovacuum, or by this) and
 * then handed a burst. Its statistics still say that nothing is queued, and the claim's plan sorts
 * every queued row where it should walk an index: 38 ms per claim instead of 1.6 ms with 25,000
 * queued among 50,000 finished (EXPLAIN ANALYZE), and the dispatcher ran at a third of its speed
 * in the peers benchmark once its database had been vacuumed between runs. So a partition
 * changed by at least 1,000 rows since its last ANALYZE has its queued rows counted, up to twice
 * the estimate plus 1,000 (at most 20,000: an index-only walk of the partial index, a few ms).
 *
 * The dispatcher that refreshed the window calls it (one at a time); `lock_timeout` makes it
 * give way to autovacuum or retention holding the partition, until the next refresh.
 */
export async function analyzeLaggingQueuePartitions(db: Database, window: QueueWindow): Promise<string[]> {
  const floor = window.floor?.getTime() ?? null;
  const inWindow = (await listHistoryPartitions(db))
    .filter((p) => p.table === 'deliveries')
    .filter((p) => floor === null || p.to === null || p.to.getTime() > floor)
    .map((p) => p.name);
  if (inWindow.length === 0) return [];
  // The queued estimate: the rows of the partition's piece of `deliveries_queued_endpoint_idx`
  // (partial, on the queued rows), as its last ANALYZE or VACUUM left it; -1 when never counted.
  const partitions = await executeRows<{ name: string; tuples: number; changes: number; queued: number }>(
    db,
    sql`select s.relname as name, c.reltuples::float8 as tuples, s.n_mod_since_analyze::float8 as changes,
               coalesce((select max(ic.reltuples) from pg_index x
                         join pg_inherits i on i.inhrelid = x.indexrelid and i.inhparent = to_regclass('deliveries_queued_endpoint_idx')
                         join pg_class ic on ic.oid = x.indexrelid
                         where x.indrelid = s.relid), -1)::float8 as queued
        from pg_stat_user_tables s join pg_class c on c.oid = s.relid
        where s.relname in ${inWindow}`,
  );
  const lagging: string[] = [];
  for (const p of partitions) {
    const [tuples, changes, queued] = [Number(p.tuples), Number(p.changes), Number(p.queued)];
    if (changes > Math.max(MIN_CHANGES, tuples)) lagging.push(p.name);
    else if (changes >= MIN_CHANGES && (await queueOutgrewEstimate(db, p.name, queued))) lagging.push(p.name);
  }
  const analyzed: string[] = [];
  for (const name of lagging) {
    try {
      await db.transaction(async (tx) => {
        await briefLockWaits(tx);
        await tx.execute(sql`analyze ${sql.identifier(name)}`);
      });
      analyzed.push(name);
    } catch {
      // Held by autovacuum or retention: the next refresh tries again.
    }
  }
  return analyzed;
}

/** True when `partition` holds at least twice its queued estimate plus MIN_CHANGES queued rows (counted up to that). */
async function queueOutgrewEstimate(db: Database, partition: string, estimate: number): Promise<boolean> {
  const bound = 2 * Math.max(estimate, 0) + MIN_CHANGES;
  // Past the cap the plans are those of a long queue already; counting further would cost more.
  if (bound > QUEUED_COUNT_CAP) return false;
  const [row] = await executeRows<{ n: number }>(
    db,
    sql`select count(*)::int as n from (select 1 from ${sql.identifier(partition)} d
        where ${isQueuedRow('d')} limit ${bound}::int) q`,
  );
  return Number(row?.n ?? 0) >= bound;
}
