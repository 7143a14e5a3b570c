import { users } from '@herald/db';
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { notFound } from '../../errors';
import { changeWithEvents } from '../../services/change-with-events';
import { projectProcedure } from '../../trpc/init';
import { toUser, userIdSchema } from './user-schemas';

export const deleteUser = projectProcedure
  .meta({
    openapi: { method: 'DELETE', path: '/users/{id}', summary: 'Delete a user', tags: ['Users'], auth: 'apiKey' },
  })
  .input(z.strictObject({ id: userIdSchema }))
  .output(z.object({ id: z.string(), deleted: z.literal(true) }))
  .mutation(({ ctx, input }) =>
    changeWithEvents(ctx, async (tx, emit) => {
      const [row] = await tx
        .delete(users)
        .where(and(eq(users.projectId, ctx.projectId), eq(users.id, input.id)))
        .returning();
      if (!row) throw notFound('User');
      await emit('user.deleted', { user: toUser(row) });
      return { id: row.id, deleted: true as const };
    }),
  );
