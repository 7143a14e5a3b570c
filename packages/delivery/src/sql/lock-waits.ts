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
