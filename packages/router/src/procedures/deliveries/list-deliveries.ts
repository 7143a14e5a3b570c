import { deliveries, deliveryStatuses, events } from '@herald/db';
import { eventTypes } from '@herald/events';
import { and, desc, eq, gte, lt, lte } from 'drizzle-orm';
import { z } from 'zod';
import { listLimitSchema, pageSchema } from '../../services/pagination';
import { projectProcedure } from '../../trpc/init';
import { endpointIdSchema } from '../endpoints/endpoint-schemas';
import { eventIdSchema } from '../events/event-schemas';
import { timestampBoundSchema } from '../timestamp-schema';
import { selectDeliveries, toDeliveryPage } from './delivery-query';
import { deliveryIdSchema, deliverySchema } from './delivery-schemas';

/** The delivery log: the project's deliveries, newest first, filtered. */
export const listDeliveries = projectProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/deliveries',
      summary: "List the project's deliveries, newest first (the delivery log)",
      tags: ['Deliveries'],
      auth: 'apiKey',
    },
  })
  .input(
    z
      .strictObject({
        status: z.enum(deliveryStatuses).optional(),
        eventType: z.enum(eventTypes).optional(),
        endpointId: endpointIdSchema.optional(),
        eventId: eventIdSchema.optional(),
        /** Created at or after this time. */
        since: timestampBoundSchema().optional(),
        /** Created at or before this time. */
        until: timestampBoundSchema().optional(),
        limit: listLimitSchema,
        /** The `nextCursor` of the previous page: older deliveries follow. */
        cursor: deliveryIdSchema.optional(),
      })
      .prefault({}),
  )
  .output(pageSchema(deliverySchema))
  .query(async ({ ctx, input }) => {
    const rows = await selectDeliveries(ctx.db)
      .where(
        and(
          eq(deliveries.projectId, ctx.projectId),
          input.status ? eq(deliveries.status, input.status) : undefined,
          input.eventType ? eq(events.type, input.eventType) : undefined,
          input.endpointId ? eq(deliveries.endpointId, input.endpointId) : undefined,
          input.eventId ? eq(deliveries.eventId, input.eventId) : undefined,
          input.since ? gte(deliveries.createdAt, new Date(input.since)) : undefined,
          input.until ? lte(deliveries.createdAt, new Date(input.until)) : undefined,
          input.cursor ? lt(deliveries.id, input.cursor) : undefined,
        ),
      )
      .orderBy(desc(deliveries.id))
      .limit(input.limit + 1);
    return toDeliveryPage(rows, input.limit);
  });
