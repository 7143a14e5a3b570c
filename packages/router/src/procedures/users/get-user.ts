import { users } from '@herald/db';
import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { notFound } from '../../errors';
import { preparedOn } from '../../services/prepared';
import { projectProcedure } from '../../trpc/init';
import { toUser, userIdSchema, userSchema } from './user-schemas';

export const getUser = projectProcedure
  .meta({ openapi: { method: 'GET', path: '/users/{id}', summary: 'Get a user', tags: ['Users'], auth: 'apiKey' } })
  .input(z.strictObject({ id: userIdSchema }))
  .output(userSchema)
  .query(async ({ ctx, input }) => {
    const [row] = await preparedOn(ctx.db, 'herald_get_user', (db, name) =>
      db
        .select()
        .from(users)
        .where(and(eq(users.projectId, sql.placeholder('projectId')), eq(users.id, sql.placeholder('id'))))
        .limit(1)
        .prepare(name),
    ).execute({ projectId: ctx.projectId, id: input.id });
    if (!row) throw notFound('User');
    return toUser(row);
  });
