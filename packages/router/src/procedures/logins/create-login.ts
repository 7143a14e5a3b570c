import { users } from '@herald/db';
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { apiError } from '../../errors';
import { changeWithEvents } from '../../services/change-with-events';
import { burnPasswordCheck, verifyPassword } from '../../services/passwords';
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
    const [user] = await ctx.db
      .select({ id: users.id, passwordHash: users.passwordHash, status: users.status })
      .from(users)
      .where(and(eq(users.projectId, ctx.projectId), eq(users.email, input.email)))
      .limit(1);

    const passwordOk = user?.passwordHash
      ? await verifyPassword(input.password, user.passwordHash)
      : await burnPasswordCheck(input.password);
    const outcome = !user
      ? 'unknown_user'
      : !passwordOk
        ? 'invalid_password'
        : user.status === 'locked'
          ? 'user_locked'
          : 'ok';

    const attempt = { email: input.email, ipAddress: input.ipAddress ?? null, userAgent: input.userAgent ?? null };
    // The event is committed whatever the outcome: failed logins are what
    // security automations subscribe to.
    await changeWithEvents(ctx, async (_tx, emit) => {
      if (outcome === 'ok') await emit('user.login.succeeded', { userId: user!.id, ...attempt });
      else await emit('user.login.failed', { userId: user?.id ?? null, reason: outcome, ...attempt });
    });

    if (outcome === 'user_locked') throw apiError('user_locked', 'This user is locked');
    if (outcome !== 'ok') throw apiError('invalid_credentials', INVALID_CREDENTIALS);
    return { userId: user!.id };
  });
