import type { Database } from '@herald/db';
import { executeRows } from '@herald/db';
import { sql } from 'drizzle-orm';

/** PostgreSQL gave up waiting for a lock (lock_timeout) or broke a deadlock with this transaction. */
export function isLockConflict(error: unknown): boolean {
  for (let e: unknown = error; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (code === '55P03' || code === '40P01') return true;
  }
  return false;
}

/**
 * Waits at most 200 ms for each lock: then this transaction gives way (`isLockConflict`) and the
 * caller tries again, well before PostgreSQL's deadlock check (1 s) could pick a writer instead;
 * writers queued behind it wait no longer than that either.
 */
export async function briefLockWaits(tx: Database): Promise<void> {
  await tx.execute(sql`set local lock_timeout = '200ms'`);
}

/** A transaction open this long is not one of the dispatchers' statements: it may run on. */
const LONG_TRANSACTION_MS = 50;
/** After this, the lock is asked for anyway (and waited for at most as `briefLockWaits` allows). */
const HOLDERS_WAIT_MAX_MS = 2_000;

/**
 * Waits, without asking for a lock, while a transaction open for more than 50 ms holds a lock on
 * one of `tables` or on one of their partitions (at most 2 s), so that the lock asked for next is
 * not queued behind it: every statement on those tables queues behind that request, the
 * dispatchers' claims and outcome writes among them. In bench 5c a detach waited 117 ms behind a
 * bulk insert while the dispatchers stood still. The dispatchers' own statements take
 * milliseconds: their locks are simply waited for. A session of another role whose transaction
 * start this role may not see (no `pg_read_all_stats`) counts as long.
 *
 * Not `LOCK … NOWAIT` tried every 10 ms instead: on a partitioned table each try takes the
 * parent's lock before its partitions', so every failed try held the dispatchers up for a moment,
 * and in bench 5c (two runs each way) dispatch during retention fell to 0.57–0.58 of the rate
 * before, against 0.88–1.08 with this wait.
 */
export async function awaitLongLockHolders(tx: Database, tables: readonly string[]): Promise<void> {
  const deadline = performance.now() + HOLDERS_WAIT_MAX_MS;
  for (;;) {
    const [row] = await executeRows<{ busy: boolean }>(
      tx,
      sql`select exists (
            select 1 from pg_locks l join pg_stat_activity a on a.pid = l.pid
            where l.locktype = 'relation' and l.granted and l.pid <> pg_backend_pid()
              and l.database = (select oid from pg_database where datname = current_database())
              and l.relation in (select t.relid from unnest(${`{${tables.join(',')}}`}::regclass[]) as r(oid),
                                 lateral pg_partition_tree(r.oid) as t)
              and (a.xact_start is null
                   or a.xact_start < clock_timestamp() - ${LONG_TRANSACTION_MS} * interval '1 millisecond')
          ) as busy`,
    );
    if (!row?.busy || performance.now() >= deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
