import { endpoints } from '@herald/db';
import { and, asc, eq, gt } from 'drizzle-orm';
import { z } from 'zod';
import { listLimitSchema, pageSchema, toPage } from '../../services/pagination';
import { projectProcedure } from '../../trpc/init';
import { endpointIdSchema, endpointSchema, toEndpoint } from './endpoint-schemas';

export const listEndpoints = projectProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/endpoints',
      summary: 'List webhook endpoints',
      tags: ['Endpoints'],
      auth: 'apiKey',
    },
  })
  .input(z.strictObject({ limit: listLimitSchema, cursor: endpointIdSchema.optional() }).prefault({}))
  .output(pageSchema(endpointSchema))
  .query(async ({ ctx, input }) => {
    const rows = await ctx.db
      .select()
      .from(endpoints)
      .where(and(eq(endpoints.projectId, ctx.projectId), input.cursor ? gt(endpoints.id, input.cursor) : undefined))
      .orderBy(asc(endpoints.id))
      .limit(input.limit + 1);
    return toPage(
      rows.map((row) => toEndpoint(row, ctx)),
      input.limit,
    );
  });
