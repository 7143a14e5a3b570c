import { isForeignKeyViolation } from '@herald/db';
import { queueMissedDeliveries, requeueFailedSince } from '@herald/delivery';
import { z } from 'zod';
import { apiError, notFound } from '../../errors';
import { projectProcedure } from '../../trpc/init';
import { pastTimestampSchema } from '../timestamp-schema';
import { endpointIdSchema } from './endpoint-schemas';
import { findEndpoint } from './find-endpoint';

export const recoverEndpoint = projectProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/endpoints/{id}/recover',
      summary: 'Re-queue failed deliveries since a time, and deliver the events the endpoint missed',
      tags: ['Endpoints'],
      successStatus: 202,
      auth: 'apiKey',
    },
  })
  .input(z.strictObject({ id: endpointIdSchema, since: pastTimestampSchema() }))
  .output(
    z.object({
      requeued: z.number().int().describe('Failed deliveries created since `since`, queued again.'),
      missed: z
        .number()
        .int()
        .describe(
          'Events since `since` (and since the endpoint was created) that it never got a delivery of, ' +
            'for example while it was disabled, now queued. Both reach back at most HERALD_PAYLOAD_RETENTION.',
        ),
    }),
  )
  .mutation(async ({ ctx, input }) => {
    const endpoint = await findEndpoint(ctx.db, ctx.projectId, input.id);
    if (endpoint.disabled) throw apiError('conflict', 'The endpoint is disabled; enable it before recovering');
    // No further back than payload retention (as a manual retry): requeued, a delivery past it would
    // keep its payload and its day of every tenant's history from retention, for as long as it is
    // recovered again and again.
    const oldest = Date.now() - ctx.services.config.payloadRetentionMs;
    const since = new Date(Math.max(new Date(input.since).getTime(), oldest));
    const target = { projectId: ctx.projectId, endpointId: endpoint.id, since };
    const recover = async () => [await requeueFailedSince(ctx.db, target), await queueMissedDeliveries(ctx.db, target)];
    const [requeued = 0, missed = 0] = await recover().catch((error: unknown) => {
      // The endpoint was deleted since it was found: its new deliveries' foreign key refused them.
      throw isForeignKeyViolation(error) ? notFound('Endpoint') : error;
    });
    if (requeued + missed > 0) ctx.services.wakeup.notify();
    return { requeued, missed };
  });
