import { againOnConflict, isForeignKeyViolation } from '@herald/db';
import { RECOVER_BATCH, recoverEndpointDeliveries } from '@herald/delivery';
import { z } from 'zod';
import type { ApiErrorCause } from '../../errors';
import { apiError, notFound } from '../../errors';
import { projectProcedure } from '../../trpc/init';
import { pastTimestampSchema } from '../timestamp-schema';
import { endpointIdSchema } from './endpoint-schemas';
import { findEndpoint } from './find-endpoint';

/** `Retry-After` of a recovery refused while another of its project runs. */
const RECOVERY_BUSY_RETRY_AFTER_SECONDS = 2;

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
      more: z
        .boolean()
        .describe(
          `True when this call stopped at ${RECOVER_BATCH.toLocaleString('en-US')} deliveries (oldest first): ` +
            'the same call again (with a new Idempotency-Key, if it sends one) queues the rest, and never queues ' +
            'one twice. One recovery runs per project at a time: a call made meanwhile answers 429 with Retry-After.',
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
    // A deadlock with the endpoint's deletion (its cascade against the rows this queues) runs it again.
    const recovered = await againOnConflict(() => recoverEndpointDeliveries(ctx.db, target)).catch((error: unknown) => {
      // The endpoint was deleted since it was found: its new deliveries' foreign key refused them.
      throw isForeignKeyViolation(error) ? notFound('Endpoint') : error;
    });
    if (!recovered) {
      // One at a time per project, refused rather than waited for: each waiting call would hold one
      // of the API's connections, every tenant's. A 429, which an Idempotency-Key never stores: the
      // same call later runs.
      const busy = apiError('rate_limited', 'A recovery is running in this project: try again when it ends');
      (busy.cause as ApiErrorCause).retryAfterSeconds = RECOVERY_BUSY_RETRY_AFTER_SECONDS;
      throw busy;
    }
    if (recovered.requeued + recovered.missed > 0) ctx.services.wakeup.notify();
    return recovered;
  });
