import { users } from '@herald/db';
import { and, asc, eq, gt } from 'drizzle-orm';
import { z } from 'zod';
import { listLimitSchema, pageSchema, toPage } from '../../services/pagination';
import { projectProcedure } from '../../trpc/init';
import { emailSchema, toUser, userIdSchema, userSchema } from './user-schemas';

export const listUsers = projectProcedure
  .meta({ openapi: { method: 'GET', path: '/users', summary: 'List users', tags: ['Users'], auth: 'apiKey' } })
  .input(
    z
      .strictObject({ limit: listLimitSchema, cursor: userIdSchema.optional(), email: emailSchema.optional() })
      .prefault({}),
  )
  .output(pageSchema(userSchema))
  .query(async ({ ctx, input }) => {
    const rows = await ctx.db
      .select()
      .from(users)
      .where(
        and(
          eq(users.projectId, ctx.projectId),
          input.cursor ? gt(users.id, input.cursor) : undefined,
          input.email ? eq(users.email, input.email) : undefined,
        ),
      )
      .orderBy(asc(users.id))
      .limit(input.limit + 1);
    return toPage(rows.map(toUser), input.limit);
  });
