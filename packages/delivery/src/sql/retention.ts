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
 * The first half of dropping a day, without any table lock (dispatchers go on): counts its
 * pending and in-flight deliveries (a day that has some is kept; the caller reports it) and
 * deletes the finished rows of other days that point into it (ids from before aligned
 * minting), one index range each, so the foreign keys let its partitions go. Every predicate
 * names the id range it skips, so the day's own partitions are pruned from the scans. Ids
 * minted since are aligned (an event's deliveries and a delivery's attempts share its day), so
 * no new such row appears before `dropHistoryDay`; if one did, its foreign key would stop the
 * drop.
 */
export async function releaseHistoryDay(db: Database, day: HistoryDay): Promise<DropOutcome> {
  const queued = sql.raw(QUEUED_STATUSES_SQL);
  const [own] = await executeRows<{ n: number }>(
    db,
    sql`select count(*)::int as n from deliveries where ${inRange(sql`id`, 'delivery', day)} and status ${queued}`,
  );
  const [pointing] = await executeRows<{ n: number }>(
    db,
    sql`select count(*)::int as n from deliveries
        where ${inRange(sql`event_id`, 'event', day)} and ${outsideRange(sql`id`, 'delivery', day)} and status ${queued}`,
  );
  const n = Number(own?.n ?? 0) + Number(pointing?.n ?? 0);
  if (n > 0) return { dropped: false, queued: n };
  await db.execute(
    sql`delete from delivery_attempts
        where ${inRange(sql`delivery_id`, 'delivery', day)} and ${outsideRange(sql`id`, 'attempt', day)}`,
  );
  await db.execute(
    sql`delete from deliveries
        where ${inRange(sql`event_id`, 'event', day)} and ${outsideRange(sql`id`, 'delivery', day)}`,
  );
  return { dropped: true };
}

/** Ids outside the day, written so that partition pruning leaves the day's own partition out. */
function outsideRange(column: SQL, kind: Parameters<typeof idTimeBound>[0], day: HistoryDay): SQL {
  const above = sql`${column} >= ${idTimeBound(kind, day.to.getTime())}`;
  return day.from ? sql`(${column} < ${idTimeBound(kind, day.from.getTime())} or ${above})` : above;
}

/** PostgreSQL gave up waiting for a lock (lock_timeout) or broke a deadlock with this transaction. */
export function isLockConflict(error: unknown): boolean {
  for (let e: unknown = error; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (code === '55P03' || code === '40P01') return true;
  }
  return false;
}

/**
 * Detaches and drops one day of attempts, deliveries and events, children first, in one short
 * transaction: never a mass DELETE. Run `releaseHistoryDay` first; a lock conflict
 * (`isLockConflict`) means the tables were busy and the drop may simply be tried again. The three tables are locked
 * for it (detaching needs that), so it does only what must happen under the lock: it checks
 * again that the day's own deliveries are all finished (a delivery may have been requeued
 * meanwhile; the day is then kept) and detaches and drops the partitions.
 */
export async function dropHistoryDay(db: Database, day: HistoryDay): Promise<DropOutcome> {
  return db.transaction(async (tx) => {
    // Writers take these tables in different orders (the API: events, then deliveries; the
    // dispatcher: attempts, then deliveries; a claim: deliveries, then events), so no order of
    // ours is safe from a deadlock. A short wait for each lock makes this transaction the one
    // that gives way, well before PostgreSQL's deadlock check (1 s) could pick a writer; and
    // writers queued behind it wait no longer than that. The caller tries again.
    await tx.execute(sql`set local lock_timeout = '200ms'`);
    // Detaching a partition that a foreign key points at runs PostgreSQL's check that no row of
    // the referencing table points into it: a join of that whole table with the partition. The
    // cheap plan is a merge join over the id indexes, which stops at the partition's last id; but
    // the parent's statistics still count the days already dropped, and after a few days the
    // planner switches to a hash join that reads every row of the referencing table (seconds at
    // 10 M rows). Nothing else in this transaction joins.
    await tx.execute(sql`set local enable_hashjoin = off`);
    await tx.execute(sql`set local enable_nestloop = off`);
    await tx.execute(sql`lock table delivery_attempts, deliveries, events in access exclusive mode`);
    const [blocking] = await executeRows<{ n: number }>(
      tx,
      sql`select count(*)::int as n from deliveries
          where ${inRange(sql`id`, 'delivery', day)} and status ${sql.raw(QUEUED_STATUSES_SQL)}`,
    );
    const queued = Number(blocking?.n ?? 0);
    if (queued > 0) return { dropped: false, queued };
    for (const { table } of historyTables) {
      const partition = `${table}_${day.suffix}`;
      const [exists] = await executeRows<{ oid: string | null }>(
        tx,
        sql`select to_regclass(${partition})::text as oid`,
      );
      if (!exists?.oid) continue;
      // Only a partition some foreign key points at (deliveries', events') must be detached
      // first; attempts' is dropped at once, which skips detaching's copy of its foreign key's
      // triggers onto every deliveries partition.
      if (table !== 'delivery_attempts')
        await tx.execute(sql.raw(`alter table "${table}" detach partition "${partition}"`));
      await tx.execute(sql.raw(`drop table "${partition}"`));
    }
    return { dropped: true };
  });
}
