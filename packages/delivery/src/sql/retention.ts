import type { Database } from '@herald/db';
import { executeRows, idTimeBound, QUEUED_STATUSES_SQL } from '@herald/db';
import type { SQL } from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import type { HistoryPartition } from './partitions';
import { historyTables, listHistoryPartitions } from './partitions';

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

function inRange(column: SQL, kind: Parameters<typeof idTimeBound>[0], day: HistoryDay): SQL {
  const upper = sql`${column} < ${idTimeBound(kind, day.to.getTime())}`;
  return day.from ? sql`(${column} >= ${idTimeBound(kind, day.from.getTime())} and ${upper})` : sql`(${upper})`;
}

/**
 * Detaches and drops one day of attempts, deliveries and events, children first, in one short
 * transaction: never a mass DELETE. A day that still holds pending or in-flight deliveries is
 * kept (the caller reports it) and dropped by a later run once they finish. Rows of other days
 * that point into this one (ids from before aligned minting) are deleted first, one index range
 * each, so the foreign keys let the partitions go.
 */
export async function dropHistoryDay(db: Database, day: HistoryDay): Promise<DropOutcome> {
  return db.transaction(async (tx) => {
    // Same order as the dispatcher's own writes (attempts, then deliveries, then events), and a
    // bound on the wait: a busy table makes this run give up, not stall deliveries behind it.
    await tx.execute(sql`set local lock_timeout = '5s'`);
    await tx.execute(sql`lock table delivery_attempts, deliveries, events in access exclusive mode`);
    const [blocking] = await executeRows<{ n: number }>(
      tx,
      sql`select count(*)::int as n from deliveries
          where (${inRange(sql`id`, 'delivery', day)} or ${inRange(sql`event_id`, 'event', day)})
            and status ${sql.raw(QUEUED_STATUSES_SQL)}`,
    );
    const queued = Number(blocking?.n ?? 0);
    if (queued > 0) return { dropped: false, queued };
    await tx.execute(
      sql`delete from delivery_attempts
          where ${inRange(sql`delivery_id`, 'delivery', day)} and not ${inRange(sql`id`, 'attempt', day)}`,
    );
    await tx.execute(
      sql`delete from deliveries
          where ${inRange(sql`event_id`, 'event', day)} and not ${inRange(sql`id`, 'delivery', day)}`,
    );
    for (const { table } of historyTables) {
      const partition = `${table}_${day.suffix}`;
      const [exists] = await executeRows<{ oid: string | null }>(
        tx,
        sql`select to_regclass(${partition})::text as oid`,
      );
      if (!exists?.oid) continue;
      await tx.execute(sql.raw(`alter table "${table}" detach partition "${partition}"`));
      await tx.execute(sql.raw(`drop table "${partition}"`));
    }
    return { dropped: true };
  });
}
