import type { Database } from '@herald/db';
import { loginThrottles } from '@herald/db';
import { and, eq, gt, inArray, sql } from 'drizzle-orm';

/**
 * Failed-login throttling, kept in PostgreSQL so it holds across API
 * processes. A fixed window per key: the first failure opens a 15-minute
 * window; the failure that reaches the key's limit within it blocks the key
 * for 15 minutes. A successful login clears its account key (never an
 * address key, or one known account would unblock a guessing address).
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
  if (ipAddress) keys.push({ key: `ip:${ipAddress}`, limit: loginThrottlePolicy.addressFailures });
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

/** Counts one failure against each key, blocking those that reach their limit. */
export async function recordLoginFailure(db: Executor, projectId: string, keys: ThrottleKey[]): Promise<void> {
  const { windowSeconds, blockSeconds } = loginThrottlePolicy;
  for (const { key, limit } of keys) {
    const expired = sql`${loginThrottles.windowStartedAt} <= now() - make_interval(secs => ${windowSeconds})`;
    const failures = sql`case when ${expired} then 1 else ${loginThrottles.failures} + 1 end`;
    await db
      .insert(loginThrottles)
      .values({
        projectId,
        key,
        failures: 1,
        windowStartedAt: sql`now()`,
        blockedUntil: limit <= 1 ? sql`now() + make_interval(secs => ${blockSeconds})` : null,
      })
      .onConflictDoUpdate({
        target: [loginThrottles.projectId, loginThrottles.key],
        set: {
          failures,
          windowStartedAt: sql`case when ${expired} then now() else ${loginThrottles.windowStartedAt} end`,
          blockedUntil: sql`case when ${failures} >= ${limit} then now() + make_interval(secs => ${blockSeconds}) else ${loginThrottles.blockedUntil} end`,
        },
      });
  }
}

/** A successful login starts its account afresh. */
export async function clearAccountThrottle(db: Executor, projectId: string, email: string): Promise<void> {
  await db
    .delete(loginThrottles)
    .where(and(eq(loginThrottles.projectId, projectId), eq(loginThrottles.key, `account:${email}`)));
}
