import { isUniqueViolation, userPastEmails, users } from '@herald/db';
import type { UserSnapshot } from '@herald/events';
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { apiError, notFound } from '../../errors';
import { changeWithEvents } from '../../services/change-with-events';
import { projectProcedure } from '../../trpc/init';
import {
  emailSchema,
  metadataSchema,
  rolesSchema,
  toUser,
  userIdSchema,
  userNameSchema,
  userSchema,
} from './user-schemas';

export const updateUserInput = z.strictObject({
  id: userIdSchema,
  email: emailSchema.optional(),
  name: userNameSchema.optional(),
  roles: rolesSchema.optional(),
  metadata: metadataSchema.optional(),
  status: z.enum(['active', 'locked']).optional(),
});

const changeableFields = ['email', 'name', 'roles', 'metadata', 'status'] as const;

export const updateUser = projectProcedure
  .meta({
    openapi: { method: 'PATCH', path: '/users/{id}', summary: 'Update a user', tags: ['Users'], auth: 'apiKey' },
  })
  .input(updateUserInput)
  .output(userSchema)
  .mutation(async ({ ctx, input }) => {
    try {
      return await changeWithEvents(ctx, async (tx, emit) => {
        const where = and(eq(users.projectId, ctx.projectId), eq(users.id, input.id));
        // Lock the row so concurrent updates report accurate changed fields.
        const [before] = await tx.select().from(users).where(where).for('update');
        if (!before) throw notFound('User');
        const previous = toUser(before);
        const changedFields = changeableFields.filter(
          (field) => input[field] !== undefined && !sameValue(input[field], previous[field]),
        );
        // Nothing changed: no write, no event (as Stripe does).
        if (changedFields.length === 0) return previous;
        const patch: Partial<typeof users.$inferInsert> = { updatedAt: new Date() };
        for (const field of changedFields) Object.assign(patch, { [field]: input[field] });
        const [row] = await tx.update(users).set(patch).where(where).returning();
        // The address it had: erasure must find the failed logins made with it after payload
        // retention has emptied the events that show it (erasure.ts).
        if (changedFields.includes('email')) {
          await tx
            .insert(userPastEmails)
            .values({ projectId: ctx.projectId, userId: before.id, email: before.email.toLowerCase() })
            .onConflictDoNothing();
        }
        const user = toUser(row!);
        await emit('user.updated', { user, changedFields });
        return user;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw apiError('email_taken', 'A user with this email already exists');
      throw error;
    }
  });

function sameValue(a: unknown, b: UserSnapshot[keyof UserSnapshot]) {
  return JSON.stringify(a) === JSON.stringify(b);
}
