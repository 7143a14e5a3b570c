import { users } from '@herald/db';
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { notFound } from '../../errors';
import { projectProcedure } from '../../trpc/init';
import { toUser, userIdSchema, userSchema } from './user-schemas';

export const getUser = projectProcedure
  .meta({ openapi: { method: 'GET', path: '/users/{id}', summary: 'Get a user', tags: ['Users'], auth: 'apiKey' } })
  .input(z.strictObject({ id: userIdSchema }))
  .output(userSchema)
  .query(async ({ ctx, input }) => {
    const [row] = await ctx.db
      .select()
      .from(users)
      .where(and(eq(users.projectId, ctx.projectId), eq(users.id, input.id)))
      .limit(1);
    if (!row) throw notFound('User');
    return toUser(row);
  });
