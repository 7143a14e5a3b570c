import { againOnConflict, users } from '@herald/db';
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { notFound } from '../../errors';
import { changeWithEvents } from '../../services/change-with-events';
import { eraseUserFromEvents } from '../../services/erasure';
import { projectProcedure } from '../../trpc/init';
import { userIdSchema } from './user-schemas';

export const deleteUser = projectProcedure
  .meta({
    openapi: {
      method: 'DELETE',
      path: '/users/{id}',
      summary: "Delete a user and erase their personal data from Herald's events",
      tags: ['Users'],
      auth: 'apiKey',
    },
  })
  .input(z.strictObject({ id: userIdSchema }))
  .output(z.object({ id: z.string(), deleted: z.literal(true) }))
  .mutation(async ({ ctx, input }) => {
    let erasedMarks: string[] = [];
    // Again when it lost a deadlock (rolled back whole): an erasure locks many rows of the user's
    // history, which an endpoint's deletion or a recovery may be taking the other way round.
    const deleted = await againOnConflict(() =>
      changeWithEvents(ctx, async (tx, emit) => {
        const [row] = await tx
          .delete(users)
          .where(and(eq(users.projectId, ctx.projectId), eq(users.id, input.id)))
          .returning({ id: users.id, email: users.email });
        if (!row) throw notFound('User');
        // In the same transaction: the user and their personal data go together, or neither does.
        await eraseUserFromEvents(tx, { projectId: ctx.projectId, userId: row.id, email: row.email }, (marks) => {
          erasedMarks = marks;
        });
        await emit('user.deleted', { user: { id: row.id } });
        return { id: row.id, deleted: true as const };
      }),
    );
    // Only once the deletion holds: a delete rolled back erased nothing, and a stored answer that
    // shows the user stays whole.
    ctx.services.erasedFromAnswer?.(erasedMarks);
    return deleted;
  });
