import { deliveryAttempts } from '@herald/db';
import { asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { projectProcedure } from '../../trpc/init';
import { attemptSchema, deliveryIdSchema, deliverySchema, toAttempt, toDelivery } from './delivery-schemas';
import { findDelivery } from './find-delivery';

export const getDelivery = projectProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/deliveries/{id}',
      summary: 'Get a delivery with its attempts',
      tags: ['Deliveries'],
      auth: 'apiKey',
    },
  })
  .input(z.strictObject({ id: deliveryIdSchema }))
  .output(deliverySchema.extend({ attempts: z.array(attemptSchema) }))
  .query(async ({ ctx, input }) => {
    const { delivery, eventType, payloadExpiredAt } = await findDelivery(ctx.db, ctx.projectId, input.id);
    const attempts = await ctx.db
      .select()
      .from(deliveryAttempts)
      .where(eq(deliveryAttempts.deliveryId, delivery.id))
      .orderBy(asc(deliveryAttempts.attemptNumber));
    return { ...toDelivery(delivery, eventType, payloadExpiredAt), attempts: attempts.map(toAttempt) };
  });
