import { endpoints, idTimestamp } from '@herald/db';
import { requeueDelivery } from '@herald/delivery';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { apiError } from '../../errors';
import { projectProcedure } from '../../trpc/init';
import { deliveryIdSchema, deliverySchema, toDelivery } from './delivery-schemas';
import { findDelivery } from './find-delivery';

export const retryDelivery = projectProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/deliveries/{id}/retry',
      summary: 'Send a delivery again now, with a fresh retry schedule',
      tags: ['Deliveries'],
      successStatus: 202,
      auth: 'apiKey',
    },
  })
  .input(z.strictObject({ id: deliveryIdSchema }))
  .output(deliverySchema)
  .mutation(async ({ ctx, input }) => {
    const { delivery, eventType, payloadExpiredAt } = await findDelivery(ctx.db, ctx.projectId, input.id);
    // As `test` and `recover` answer: a disabled endpoint sends nothing, and a requeued delivery
    // would be failed unsent, turning a delivered webhook's log into `failed`.
    const [endpoint] = await ctx.db
      .select({ disabled: endpoints.disabled })
      .from(endpoints)
      .where(eq(endpoints.id, delivery.endpointId))
      .limit(1);
    if (endpoint?.disabled) throw apiError('conflict', 'The endpoint is disabled; enable it before retrying');
    const expired = () =>
      apiError('conflict', "The event's payload has expired (payload retention): it can no longer be sent", {
        reason: 'payload_expired',
      });
    if (payloadExpiredAt) throw expired();
    // Past payload retention, a delivery is only here because it stayed queued: retried again and
    // again, it would keep its day of every tenant's history from retention for ever.
    const madeAt = idTimestamp(delivery.id)?.getTime() ?? Date.now();
    if (madeAt < Date.now() - ctx.services.config.payloadRetentionMs) {
      throw apiError(
        'conflict',
        'The delivery is older than payload retention (HERALD_PAYLOAD_RETENTION): it can no longer be retried',
        { reason: 'past_payload_retention' },
      );
    }
    const row = await requeueDelivery(ctx.db, { projectId: ctx.projectId, deliveryId: input.id });
    if (!row) {
      // Its payload may have expired in between; otherwise a worker holds it.
      const again = await findDelivery(ctx.db, ctx.projectId, input.id);
      if (again.payloadExpiredAt) throw expired();
      throw apiError('conflict', 'The delivery is being sent right now');
    }
    ctx.services.wakeup.notify();
    return toDelivery(row, eventType, null);
  });
