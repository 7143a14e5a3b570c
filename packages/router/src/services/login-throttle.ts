import type { Database } from '@herald/db';
import { loginThrottles } from '@herald/db';
import { and, eq, gt, inArray, sql } from 'drizzle-orm';
import { addressBucket } from './unknown-key-budget';

/**
 * Failed-login throttling, kept in PostgreSQL so it holds across API
 * processes. A fixed window per key: the first failure opens a 15-minute
 * window; the attempt past the key's limit within it is refused and blocks the
 * key for 15 minutes. Attempts are counted before the password is checked; a
 * successful login clears its account key and gives its address its attempt
 * back (never more, or one known account would unblock a guessing address).
 */
export const loginThrottlePolicy = {
  windowSeconds: 15 * 60,
  blockSeconds: 15 * 60,
  /** Failures per email address (known or not, so throttling does not tell who exists). */
  accountFailures: 5,
  /** Failures per client address: higher, as many users may share one (NAT, office). */
  addressFailures: 20,
} as const;

type Executor = Pick<Database, 'select' | 'insert' | 'delete'>;

export interface ThrottleKey {
  key: string;
  limit: number;
}

export function throttleKeysFor(email: string, ipAddress: string | undefined): ThrottleKey[] {
  const keys: ThrottleKey[] = [{ key: `account:${email}`, limit: loginThrottlePolicy.accountFailures }];
  // One key per client address however it is written, and per IPv6 /64 (`addressBucket`): keyed by
  // its text, each spelling of an address (`2001:DB8::7`, `::ffff:198.51.100.9`) had a budget of its own.
  if (ipAddress) keys.push({ key: `ip:${addressBucket(ipAddress)}`, limit: loginThrottlePolicy.addressFailures });
  return keys;
}

/** Seconds until every given key is unblocked, or null when none is blocked. */
export async function blockedForSeconds(db: Executor, projectId: string, keys: ThrottleKey[]): Promise<number | null> {
  const [row] = await db
    .select({
      seconds: sql<number>`ceil(extract(epoch from max(${loginThrottles.blockedUntil}) - now()))::int`,
    })
    .from(loginThrottles)
    .where(
      and(
        eq(loginThrottles.projectId, projectId),
        inArray(
          loginThrottles.key,
          keys.map((k) => k.key),
        ),
        gt(loginThrottles.blockedUntil, sql`now()`),
      ),
    );
  const seconds = row?.seconds == null ? null : Number(row.seconds);
  return seconds === null ? null : Math.max(1, seconds);
}

/**
 * Counts an attempt against each key before its password is checked, committed at once, and
 * answers the seconds the attempt must wait instead, or null to go ahead. Counted after the check
 * (as a failure), concurrent guesses each read the count before any of theirs was added: fourteen
 * at once were fourteen checks against a limit of five. Now the attempt past a key's limit is
 * refused, and blocks the key for `blockSeconds`; a successful login gives its count back
 * (`refundLoginAttempt`).
 */
export async function chargeLoginAttempt(db: Executor, projectId: string, keys: ThrottleKey[]): Promise<number | null> {
  const { windowSeconds, blockSeconds } = loginThrottlePolicy;
  let waitSeconds: number | null = null;
  for (const { key, limit } of keys) {
    const expired = sql`${loginThrottles.windowStartedAt} <= now() - make_interval(secs => ${windowSeconds})`;
    const failures = sql`case when ${expired} then 1 else ${loginThrottles.failures} + 1 end`;
    const [row] = await db
      .insert(loginThrottles)
      .values({ projectId, key, failures: 1, windowStartedAt: sql`now()`, blockedUntil: null })
      .onConflictDoUpdate({
        target: [loginThrottles.projectId, loginThrottles.key],
        set: {
          failures,
          windowStartedAt: sql`case when ${expired} then now() else ${loginThrottles.windowStartedAt} end`,
          blockedUntil: sql`case when ${failures} > ${limit}
                                  and (${loginThrottles.blockedUntil} is null or ${loginThrottles.blockedUntil} <= now())
                                 then now() + make_interval(secs => ${blockSeconds})
                                 else ${loginThrottles.blockedUntil} end`,
        },
      })
      .returning({
        failures: loginThrottles.failures,
        waitSeconds: sql<number | null>`case when ${loginThrottles.blockedUntil} > now()
          then ceil(extract(epoch from ${loginThrottles.blockedUntil} - now()))::int end`,
      });
    const wait = row?.waitSeconds == null ? null : Math.max(1, Number(row.waitSeconds));
    if (wait !== null || (row && row.failures > limit)) waitSeconds = Math.max(waitSeconds ?? 1, wait ?? blockSeconds);
  }
  return waitSeconds;
}

/** A successful login: its account starts afresh, and its address gets back the attempt it was charged. */
export async function refundLoginAttempt(
  db: Executor & Pick<Database, 'update'>,
  projectId: string,
  keys: ThrottleKey[],
) {
  for (const { key } of keys) {
    if (key.startsWith('account:')) {
      await db.delete(loginThrottles).where(and(eq(loginThrottles.projectId, projectId), eq(loginThrottles.key, key)));
    } else {
      await db
        .update(loginThrottles)
        .set({ failures: sql`greatest(${loginThrottles.failures} - 1, 0)` })
        .where(and(eq(loginThrottles.projectId, projectId), eq(loginThrottles.key, key)));
    }
  }
}
