import { endpoints } from '@herald/db';
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { notFound } from '../../errors';
import { projectProcedure } from '../../trpc/init';
import { endpointIdSchema } from './endpoint-schemas';

export const deleteEndpoint = projectProcedure
  .meta({
    openapi: {
      method: 'DELETE',
      path: '/endpoints/{id}',
      summary: 'Delete a webhook endpoint and its deliveries',
      tags: ['Endpoints'],
      auth: 'apiKey',
    },
  })
  .input(z.strictObject({ id: endpointIdSchema }))
  .output(z.object({ id: z.string(), deleted: z.literal(true) }))
  .mutation(async ({ ctx, input }) => {
    const [row] = await ctx.db
      .delete(endpoints)
      .where(and(eq(endpoints.projectId, ctx.projectId), eq(endpoints.id, input.id)))
      .returning({ id: endpoints.id });
    if (!row) throw notFound('Endpoint');
    return { id: row.id, deleted: true as const };
  });
