import { isUniqueViolation, newId, users } from '@herald/db';
import { z } from 'zod';
import { apiError } from '../../errors';
import { changeWithEvents } from '../../services/change-with-events';
import { hashPassword } from '../../services/passwords';
import { projectProcedure } from '../../trpc/init';
import {
  emailSchema,
  metadataSchema,
  passwordSchema,
  rolesSchema,
  toUser,
  userNameSchema,
  userSchema,
} from './user-schemas';

export const createUserInput = z.strictObject({
  email: emailSchema,
  name: userNameSchema.optional(),
  password: passwordSchema.optional(),
  roles: rolesSchema.optional(),
  metadata: metadataSchema.optional(),
});

export const createUser = projectProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/users',
      summary: 'Create a user',
      tags: ['Users'],
      successStatus: 201,
      auth: 'apiKey',
    },
  })
  .input(createUserInput)
  .output(userSchema)
  .mutation(async ({ ctx, input }) => {
    // Hash outside the transaction: it takes tens of ms on a hashing thread and holds no lock.
    const passwordHash = input.password ? await hashPassword(input.password) : null;
    try {
      return await changeWithEvents(ctx, async (tx, emit) => {
        const [row] = await tx
          .insert(users)
          .values({
            id: newId('user'),
            projectId: ctx.projectId,
            email: input.email,
            name: input.name ?? null,
            passwordHash,
            roles: input.roles ?? [],
            metadata: input.metadata ?? {},
          })
          .returning();
        const user = toUser(row!);
        await emit('user.created', { user });
        return user;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw apiError('email_taken', 'A user with this email already exists');
      throw error;
    }
  });
