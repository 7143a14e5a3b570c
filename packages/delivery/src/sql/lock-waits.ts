import type { Database } from '@herald/db';
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

/** How long locks are asked for without queueing, before asking as `briefLockWaits` allows. */
const WITHOUT_QUEUEING_MS = 2_000;

/**
 * Takes `mode` locks on `tables` (and, for a partitioned table, on all its partitions) without
 * joining a lock queue: `NOWAIT`, in a savepoint, every 10 ms for up to 2 s; only then does it
 * ask and wait, as `briefLockWaits` allows. A request waiting in the queue holds up every
 * statement on those tables that comes after it, the dispatchers' claims and outcome writes
 * among them: in bench 5c a detach waited 117 ms behind a bulk insert while the dispatchers stood
 * still. `NOWAIT` sees every holder (any role, any partition) and needs no privilege.
 */
export async function lockWithoutQueueing(
  tx: Database,
  tables: readonly string[],
  mode: 'access exclusive' | 'share row exclusive',
): Promise<void> {
  for (const table of tables) if (!/^[a-z_]+$/.test(table)) throw new Error(`unexpected table name ${table}`);
  const lock = `lock table ${tables.join(', ')} in ${mode} mode`;
  const deadline = performance.now() + WITHOUT_QUEUEING_MS;
  for (;;) {
    try {
      await tx.transaction(async (savepoint) => {
        await savepoint.execute(sql.raw(`${lock} nowait`));
      });
      return;
    } catch (error) {
      if (!isLockConflict(error)) throw error;
    }
    if (performance.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await tx.execute(sql.raw(lock));
}
