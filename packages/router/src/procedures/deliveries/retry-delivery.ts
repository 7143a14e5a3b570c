import { requeueDelivery } from '@herald/delivery';
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
    const { eventType } = await findDelivery(ctx.db, ctx.projectId, input.id);
    const row = await requeueDelivery(ctx.db, { projectId: ctx.projectId, deliveryId: input.id });
    if (!row) throw apiError('conflict', 'The delivery is being sent right now');
    ctx.services.wakeup.notify();
    return toDelivery(row, eventType);
  });
