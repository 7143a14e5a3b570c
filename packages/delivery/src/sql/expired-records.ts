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
export const EXPIRED_RECORD_GRACE_MS = 24 * 60 * 60 * 1000;

export interface PurgedRecords {
  idempotencyKeys: number;
  loginThrottles: number;
  portalLinks: number;
  portalSessions: number;
}

/**
 * Kinds of short-lived records that end by themselves, and that nothing else deletes once they have:
 * - **idempotency keys** past `expires_at` (24 h): a stored answer holds the response body of
 *   the request it replays (a created user's email, say). Only a reuse of the same key deleted
 *   it before, so most stayed for ever.
 * - **login throttles** whose window and block both ended more than a day ago: such a row counts
 *   as no row (the next failure starts a new window), and there is one per address and email
 *   that ever failed a login.
 * - **portal links and sessions** a day past their end (minting a new one also clears them,
 *   per project that mints).
 */
export type ExpiredRecordKind = keyof PurgedRecords;

/** The statement that deletes up to `limit` expired rows of one kind, with `now` the run's clock. */
function deleteExpired(kind: ExpiredRecordKind, now: Date, limit: number): SQL {
  // As text with a cast: both drivers send it the same way.
  const at = sql`${now.toISOString()}::timestamptz`;
  const graceEnd = sql`${new Date(now.getTime() - EXPIRED_RECORD_GRACE_MS).toISOString()}::timestamptz`;
  switch (kind) {
    case 'idempotencyKeys':
      // By `idempotency_keys_expires_idx`. An `in_flight` key past its expiry is a request that
      // died mid-way: the next request with that key would delete it anyway.
      return sql`delete from idempotency_keys k
                 where (k.project_id, k.key) in (
                   select project_id, key from idempotency_keys
                   where expires_at < ${at} order by expires_at limit ${limit})
                 returning 1 as n`;
    case 'loginThrottles':
      return sql`delete from login_throttles t
                 where (t.project_id, t.key) in (
                   select project_id, key from login_throttles
                   where window_started_at < ${graceEnd}
                     and (blocked_until is null or blocked_until < ${graceEnd})
                   limit ${limit})
                 returning 1 as n`;
    case 'portalLinks':
      return sql`delete from portal_links l
                 where l.token_hash in (
                   select token_hash from portal_links where expires_at < ${graceEnd} order by expires_at limit ${limit})
                 returning 1 as n`;
    case 'portalSessions':
      return sql`delete from portal_sessions s
                 where s.token_hash in (
                   select token_hash from portal_sessions where expires_at < ${graceEnd} order by expires_at limit ${limit})
                 returning 1 as n`;
  }
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
