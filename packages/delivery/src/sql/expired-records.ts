import type { Database } from '@herald/db';
import { executeRows } from '@herald/db';
import type { SQL } from 'drizzle-orm';
import { sql } from 'drizzle-orm';

/** Rows deleted per statement: short transactions, and autovacuum keeps up between them. */
const BATCH = 5_000;

/**
 * How long a record stays after it stopped counting. Longer than any of the windows below:
 * a login throttle's window and block (15 minutes each), a portal link that answers "expired"
 * rather than "unknown" for a while after its end.
 */
const EXPIRED_RECORD_GRACE_MS = 24 * 60 * 60 * 1000;

export interface PurgedRecords {
  idempotencyKeys: number;
  loginThrottles: number;
  portalLinks: number;
  portalSessions: number;
}

/**
 * Kinds of short-lived records that end by themselves, and that nothing else deletes once they have:
 * - **idempotency keys** an hour past `expires_at` (24 h): a stored answer holds the response body of
 *   the request it replays (a created user's email, say). Only a reuse of the same key deleted
 *   it before, so most stayed for ever.
 * - **login throttles** whose window and block both ended more than a day ago: such a row counts
 *   as no row (the next failure starts a new window), and there is one per address and email
 *   that ever failed a login.
 * - **portal links and sessions** a day past their end (minting a new one also clears them,
 *   per project that mints).
 */
export type ExpiredRecordKind = keyof PurgedRecords;

/**
 * Idempotency answers go an hour after their expiry: the API wrote `expires_at` with its own clock,
 * and a dispatcher whose clock is ahead must not delete an answer the API would still replay.
 */
const IDEMPOTENCY_CLOCK_MARGIN_MS = 60 * 60 * 1000;

/** Each kind's table, key and expiry condition (on the row `r`), from the run's clock. */
function expiryOf(kind: ExpiredRecordKind, now: Date): { table: string; key: string; expired: SQL } {
  // As text with a cast: both drivers send it the same way.
  const before = (ms: number) => sql`${new Date(now.getTime() - ms).toISOString()}::timestamptz`;
  const graceEnd = before(EXPIRED_RECORD_GRACE_MS);
  switch (kind) {
    case 'idempotencyKeys':
      // By `idempotency_keys_expires_idx`. An `in_flight` key past its expiry is a request that
      // died mid-way: the next request with that key would delete it anyway.
      return {
        table: 'idempotency_keys',
        key: 'project_id, key',
        expired: sql`r.expires_at < ${before(IDEMPOTENCY_CLOCK_MARGIN_MS)}`,
      };
    case 'loginThrottles':
      return {
        table: 'login_throttles',
        key: 'project_id, key',
        expired: sql`r.window_started_at < ${graceEnd} and (r.blocked_until is null or r.blocked_until < ${graceEnd})`,
      };
    case 'portalLinks':
      return { table: 'portal_links', key: 'token_hash', expired: sql`r.expires_at < ${graceEnd}` };
    case 'portalSessions':
      return { table: 'portal_sessions', key: 'token_hash', expired: sql`r.expires_at < ${graceEnd}` };
  }
}

/**
 * The statement that deletes up to `limit` expired rows of one kind. Rows another transaction
 * holds are skipped (a login counting a failure, a request replacing its key's record): the purge
 * never waits on them, and the expiry is checked again on the row as it is when deleted, so a
 * login window restarted meanwhile stays.
 */
function deleteExpired(kind: ExpiredRecordKind, now: Date, limit: number): SQL {
  const { table, key, expired } = expiryOf(kind, now);
  return sql`delete from ${sql.raw(table)} r
             where (${sql.raw(key.replace(/(\w+)/g, 'r.$1'))}) in (
               select ${sql.raw(key)} from ${sql.raw(table)} r where ${expired}
               limit ${limit} for update skip locked)
               and ${expired}
             returning 1 as n`;
}

export const expiredRecordKinds: readonly ExpiredRecordKind[] = [
  'idempotencyKeys',
  'loginThrottles',
  'portalLinks',
  'portalSessions',
];

/**
 * One batch of expired records of `kind` deleted: how many. The caller repeats it (each batch in
 * its own transaction) until it deletes fewer than a batch.
 */
export async function purgeExpiredBatch(db: Database, kind: ExpiredRecordKind, now: Date): Promise<number> {
  const rows = await executeRows<{ n: number }>(db, deleteExpired(kind, now, BATCH));
  return rows.length;
}

export const PURGE_BATCH = BATCH;
