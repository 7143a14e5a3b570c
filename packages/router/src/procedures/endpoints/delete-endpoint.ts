import { deleteEndpointWithHistory } from '@herald/delivery';
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
    if (!(await deleteEndpointWithHistory(ctx.db, ctx.projectId, input.id))) throw notFound('Endpoint');
    return { id: input.id, deleted: true as const };
  });
