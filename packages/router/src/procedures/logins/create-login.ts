import { users } from '@herald/db';
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { ApiErrorCause } from '../../errors';
import { apiError } from '../../errors';
import { changeWithEvents } from '../../services/change-with-events';
import { holdLegacyFailure } from '../../services/legacy-password-floor';
import {
  blockedForSeconds,
  chargeLoginAttempt,
  refundLoginAttempt,
  throttleKeysFor,
} from '../../services/login-throttle';
import { burnPasswordCheck, checkPassword, hashPassword, passwordTurnOf } from '../../services/passwords';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from '../../services/text';
import { projectProcedure } from '../../trpc/init';
import { emailSchema } from '../users/user-schemas';

export const createLoginInput = z.strictObject({
  email: emailSchema,
  password: z.string().min(1).max(256),
  ipAddress: z.union([z.ipv4(), z.ipv6()]).optional(),
  userAgent: z.string().max(1000).refine(isStorableText, UNSTORABLE_TEXT_MESSAGE).optional(),
});

/** One answer for both, so a caller cannot tell which users exist. */
const INVALID_CREDENTIALS = 'Invalid email or password';
const TOO_MANY_FAILURES = 'Too many failed logins; retry later';

export const createLogin = projectProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/logins',
      summary: 'Check a login (email and password)',
      tags: ['Logins'],
      auth: 'apiKey',
    },
  })
  .input(createLoginInput)
  .output(z.object({ userId: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const startedAt = performance.now();
    const throttleKeys = throttleKeysFor(input.email, input.ipAddress);
    // A blocked key answers before any password work: guessing costs the attacker, not the API.
    // The attempt is counted before its check, so concurrent guesses cannot all pass the limit.
    const blockedFor =
      (await blockedForSeconds(ctx.db, ctx.projectId, throttleKeys)) ??
      (await chargeLoginAttempt(ctx.db, ctx.projectId, throttleKeys));
    if (blockedFor !== null) {
      const error = apiError('rate_limited', TOO_MANY_FAILURES);
      (error.cause as ApiErrorCause).retryAfterSeconds = blockedFor;
      throw error;
    }

    const [user] = await ctx.db
      .select({ id: users.id, passwordHash: users.passwordHash, status: users.status })
      .from(users)
      .where(and(eq(users.projectId, ctx.projectId), eq(users.email, input.email)))
      .limit(1);

    const check = user?.passwordHash
      ? await checkPassword(input.password, user.passwordHash, passwordTurnOf(ctx))
      : { ok: await burnPasswordCheck(input.password, passwordTurnOf(ctx)), needsRehash: false };
    const checked: LoginOutcome = !user
      ? 'unknown_user'
      : !check.ok
        ? 'invalid_password'
        : user.status === 'locked'
          ? 'user_locked'
          : 'ok';
    // A scrypt hash (or argon2id with older parameters) becomes today's argon2id
    // now that the password is known; hashed before the transaction, which holds no lock meanwhile.
    const rehashed =
      checked === 'ok' && check.needsRehash ? await hashPassword(input.password, passwordTurnOf(ctx)) : null;

    const attempt = { email: input.email, ipAddress: input.ipAddress ?? null, userAgent: input.userAgent ?? null };
    // The event is committed whatever the outcome: failed logins are what
    // security automations subscribe to.
    const outcome = await changeWithEvents(ctx, async (tx, emit) => {
      // The user as it is now, share-locked until the event commits: deleted, locked or given a new
      // password while the password was checked, the login fails; and a deletion waits for this
      // event, so its erasure finds it (checked before, a login racing a deletion was answered 200
      // and its event, with the address, came after the erasure).
      const [current] = user
        ? await tx
            .select({ passwordHash: users.passwordHash, status: users.status })
            .from(users)
            .where(and(eq(users.projectId, ctx.projectId), eq(users.id, user.id)))
            .limit(1)
            .for('share')
        : [];
      const final: LoginOutcome =
        user && !current
          ? 'unknown_user'
          : checked === 'ok' && current?.status === 'locked'
            ? 'user_locked'
            : checked === 'ok' && current?.passwordHash !== user?.passwordHash
              ? 'invalid_password'
              : checked;
      const userId = final === 'unknown_user' ? null : (user?.id ?? null);
      if (final === 'ok') {
        if (rehashed) {
          await tx
            .update(users)
            .set({ passwordHash: rehashed })
            .where(
              and(
                eq(users.projectId, ctx.projectId),
                eq(users.id, user!.id),
                eq(users.passwordHash, user!.passwordHash!),
              ),
            );
        }
        await refundLoginAttempt(tx, ctx.projectId, throttleKeys);
        await emit('user.login.succeeded', { userId: user!.id, ...attempt });
      } else {
        await emit('user.login.failed', { userId, reason: final, ...attempt });
      }
      return final;
    });

    // A locked user answers exactly as a wrong password does, whatever the
    // password: only the event says why, or the answer would confirm the password.
    if (outcome !== 'ok') {
      // No sooner than a legacy hash's check would have taken, where one could be met (see there).
      await holdLegacyFailure(ctx.db, ctx.projectId, startedAt, ctx.services.holdAnswerUntil);
      throw apiError('invalid_credentials', INVALID_CREDENTIALS);
    }
    return { userId: user!.id };
  });

type LoginOutcome = 'ok' | 'unknown_user' | 'invalid_password' | 'user_locked';
