import { requeueFailedSince } from '@herald/delivery';
import { z } from 'zod';
import { apiError } from '../../errors';
import { projectProcedure } from '../../trpc/init';
import { pastTimestampSchema } from '../timestamp-schema';
import { endpointIdSchema } from './endpoint-schemas';
import { findEndpoint } from './find-endpoint';

export const recoverEndpoint = projectProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/endpoints/{id}/recover',
      summary: 'Re-queue failed deliveries created since a time',
      tags: ['Endpoints'],
      successStatus: 202,
      auth: 'apiKey',
    },
  })
  .input(z.strictObject({ id: endpointIdSchema, since: pastTimestampSchema() }))
  .output(z.object({ requeued: z.number().int() }))
  .mutation(async ({ ctx, input }) => {
    const endpoint = await findEndpoint(ctx.db, ctx.projectId, input.id);
    if (endpoint.disabled) throw apiError('conflict', 'The endpoint is disabled; enable it before recovering');
    const requeued = await requeueFailedSince(ctx.db, {
      projectId: ctx.projectId,
      endpointId: endpoint.id,
      since: new Date(input.since),
    });
    if (requeued > 0) ctx.services.wakeup.notify();
    return { requeued };
  });
