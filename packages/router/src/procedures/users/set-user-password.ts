import { users } from '@herald/db';
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { notFound } from '../../errors';
import { changeWithEvents } from '../../services/change-with-events';
import { hashPassword, passwordTurnOf } from '../../services/passwords';
import { projectProcedure } from '../../trpc/init';
import { passwordSchema, userIdSchema } from './user-schemas';

export const setUserPassword = projectProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/users/{id}/password',
      summary: "Set a user's password",
      tags: ['Users'],
      auth: 'apiKey',
    },
  })
  .input(z.strictObject({ id: userIdSchema, password: passwordSchema }))
  .output(z.object({ id: z.string(), passwordChangedAt: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const passwordHash = await hashPassword(input.password, passwordTurnOf(ctx));
    return changeWithEvents(ctx, async (tx, emit) => {
      const changedAt = new Date();
      const [row] = await tx
        .update(users)
        .set({ passwordHash, updatedAt: changedAt })
        .where(and(eq(users.projectId, ctx.projectId), eq(users.id, input.id)))
        .returning({ id: users.id });
      if (!row) throw notFound('User');
      await emit('user.password.changed', { userId: row.id, changedAt: changedAt.toISOString() });
      return { id: row.id, passwordChangedAt: changedAt.toISOString() };
    });
  });
