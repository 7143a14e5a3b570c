import { setTimeout as sleep } from 'node:timers/promises';
import type { Queryable } from '@herald/db';
import { users } from '@herald/db';
import { and, eq, like } from 'drizzle-orm';
import { LruMap } from './lru';

/**
 * A legacy scrypt hash (N=2^17) takes about ten times as long to check as today's argon2id, so a
 * wrong password for a user who has not logged in since argon2id would be answered later than one
 * for an unknown address or an argon2id user: the delay would tell who exists. In a project that
 * still holds such hashes every failed login is answered no sooner than a scrypt check takes (the
 * slowest of the last few, or 1 s before any was measured), by waiting, not by computing: it costs
 * no CPU. A project without them (every one created since argon2id) never waits.
 */
export const LEGACY_FAILURE_FLOOR_MIN_MS = 1_000;
const RECENT_CHECKS = 16;
const HAS_LEGACY_TTL_MS = 60_000;

const recentLegacyChecksMs: number[] = [];
const legacyProjects = new LruMap<string, { has: boolean; expiresAt: number }>(10_000);

/** A legacy check's duration, from the hashing threads' queue to its answer. */
export function recordLegacyCheckMs(ms: number): void {
  recentLegacyChecksMs.push(ms);
  if (recentLegacyChecksMs.length > RECENT_CHECKS) recentLegacyChecksMs.shift();
}

/** The soonest a failed login of a project with legacy hashes is answered, from its start. */
export function legacyFailureFloorMs(): number {
  return Math.max(LEGACY_FAILURE_FLOOR_MIN_MS, Math.ceil(1.25 * Math.max(0, ...recentLegacyChecksMs)));
}

/**
 * Whether the project still has a user with a legacy hash (`users_legacy_password_idx` holds only
 * those rows). Cached a minute per project: hashes only leave that state, at a successful login.
 */
export async function projectHasLegacyHashes(db: Queryable, projectId: string, now = Date.now()): Promise<boolean> {
  const cached = legacyProjects.get(projectId);
  if (cached && cached.expiresAt > now) return cached.has;
  const rows = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.projectId, projectId), like(users.passwordHash, '$scrypt$%')))
    .limit(1);
  const has = rows.length > 0;
  legacyProjects.set(projectId, { has, expiresAt: now + HAS_LEGACY_TTL_MS });
  return has;
}

/**
 * Holds the answer until the floor has passed since `startedAt` (`performance.now()`) if the
 * project needs it: by `holdAnswerUntil` when given (the HTTP layer waits after its transaction
 * commits; see ApiServices), or by waiting here.
 */
export async function holdLegacyFailure(
  db: Queryable,
  projectId: string,
  startedAt: number,
  holdAnswerUntil?: (deadline: number) => void,
): Promise<void> {
  if (!(await projectHasLegacyHashes(db, projectId))) return;
  const deadline = startedAt + legacyFailureFloorMs();
  if (holdAnswerUntil) return holdAnswerUntil(deadline);
  const left = deadline - performance.now();
  if (left > 0) await sleep(left);
}
