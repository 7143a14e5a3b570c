import { apiKeys } from '@herald/db';
import { asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { projectProcedure } from '../../trpc/init';
import { apiKeySchema, toApiKey } from './api-key-schemas';

export const listApiKeys = projectProcedure
  .meta({ openapi: { method: 'GET', path: '/api-keys', summary: 'List API keys', tags: ['API keys'], auth: 'apiKey' } })
  .input(z.strictObject({}).optional())
  .output(z.object({ data: z.array(apiKeySchema) }))
  .query(async ({ ctx }) => {
    const rows = await ctx.db
      .select()
      .from(apiKeys)
      .where(eq(apiKeys.projectId, ctx.projectId))
      .orderBy(asc(apiKeys.id));
    return { data: rows.map(toApiKey) };
  });
