import type { Database } from '@herald/db';
import { executeRows } from '@herald/db';
import { sql } from 'drizzle-orm';
import { briefLockWaits } from './lock-waits';
import { listHistoryPartitions } from './partitions';
import type { QueueWindow } from './queue-window';

/** A partition is re-analysed once it has changed by this many rows, or by its own size if larger. */
const MIN_CHANGES = 1_000;

/**
 * ANALYZEs the `deliveries` partitions inside the queue window whose statistics lag their
 * rows; returns their names. The claim is planned at every call, and its plan follows these
 * statistics: a day partition that filled faster than autovacuum's next visit (up to a
 * minute, and only after 10 % of its last known size has changed) still looks nearly empty,
 * so the planner picks a bitmap of the whole id range for each step of the claim's endpoint
 * scan. Measured in the fairness benchmark: claims grew from ~5 ms to ~120 ms while a tenant
 * had 200 endpoints queued, and the other tenant's p99 went from 90 ms to 7.9 s; with fresh
 * statistics it stayed at 78–110 ms. The threshold (a partition's own size, at least 1,000
 * rows) keeps estimates within about 2× while costing a few ANALYZEs per partition per day.
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
  const lagging = await executeRows<{ name: string }>(
    db,
    sql`select s.relname as name from pg_stat_user_tables s join pg_class c on c.oid = s.relid
        where s.relname in ${inWindow} and s.n_mod_since_analyze > greatest(${MIN_CHANGES}::float8, c.reltuples)`,
  );
  const analyzed: string[] = [];
  for (const { name } of lagging) {
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
