import { deliveries } from '@herald/db';
import { and, eq, gte, sql } from 'drizzle-orm';
import { z } from 'zod';
import { apiError } from '../../errors';
import { projectProcedure } from '../../trpc/init';
import { endpointIdSchema } from './endpoint-schemas';
import { findEndpoint } from './find-endpoint';

export const recoverEndpoint = projectProcedure
  .meta({
    openapi: { method: 'POST', path: '/endpoints/{id}/recover', summary: 'Re-queue failed deliveries created since a time', tags: ['Endpoints'], successStatus: 202, auth: 'apiKey' },
  })
  .input(z.strictObject({ id: endpointIdSchema, since: z.iso.datetime({ offset: true }) }))
  .output(z.object({ requeued: z.number().int() }))
  .mutation(async ({ ctx, input }) => {
    const endpoint = await findEndpoint(ctx.db, ctx.projectId, input.id);
    if (endpoint.disabled) throw apiError('conflict', 'The endpoint is disabled; enable it before recovering');
    const requeued = await ctx.db
      .update(deliveries)
      .set({ status: 'pending', nextAttemptAt: sql`now()`, scheduleOffset: sql`${deliveries.attemptCount}`, completedAt: null, updatedAt: new Date() })
      .where(
        and(
          eq(deliveries.projectId, ctx.projectId),
          eq(deliveries.endpointId, endpoint.id),
          eq(deliveries.status, 'failed'),
          gte(deliveries.createdAt, new Date(input.since)),
        ),
      )
      .returning({ id: deliveries.id });
    if (requeued.length > 0) ctx.services.wakeup.notify();
    return { requeued: requeued.length };
  });
