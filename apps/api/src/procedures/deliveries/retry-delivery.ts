import { deliveries } from '@herald/db';
import { and, eq, ne, sql } from 'drizzle-orm';
import { z } from 'zod';
import { apiError } from '../../errors';
import { projectProcedure } from '../../trpc/init';
import { deliveryIdSchema, deliverySchema, toDelivery } from './delivery-schemas';
import { findDelivery } from './find-delivery';

export const retryDelivery = projectProcedure
  .meta({
    openapi: { method: 'POST', path: '/deliveries/{id}/retry', summary: 'Send a delivery again now, with a fresh retry schedule', tags: ['Deliveries'], successStatus: 202, auth: 'apiKey' },
  })
  .input(z.strictObject({ id: deliveryIdSchema }))
  .output(deliverySchema)
  .mutation(async ({ ctx, input }) => {
    const { eventType } = await findDelivery(ctx.db, ctx.projectId, input.id);
    const [row] = await ctx.db
      .update(deliveries)
      .set({
        status: 'pending',
        nextAttemptAt: sql`now()`,
        scheduleOffset: sql`${deliveries.attemptCount}`,
        completedAt: null,
        updatedAt: new Date(),
      })
      .where(and(eq(deliveries.projectId, ctx.projectId), eq(deliveries.id, input.id), ne(deliveries.status, 'in_flight')))
      .returning();
    if (!row) throw apiError('conflict', 'The delivery is being sent right now');
    ctx.services.wakeup.notify();
    return toDelivery(row, eventType);
  });
