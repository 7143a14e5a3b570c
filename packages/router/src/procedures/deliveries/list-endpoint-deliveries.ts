import { deliveries, deliveryStatuses } from '@herald/db';
import { and, asc, eq, gt } from 'drizzle-orm';
import { z } from 'zod';
import { listLimitSchema, pageSchema } from '../../services/pagination';
import { projectProcedure } from '../../trpc/init';
import { endpointIdSchema } from '../endpoints/endpoint-schemas';
import { findEndpoint } from '../endpoints/find-endpoint';
import { selectDeliveries, toDeliveryPage } from './delivery-query';
import { deliveryIdSchema, deliverySchema } from './delivery-schemas';

export const listEndpointDeliveries = projectProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/endpoints/{id}/deliveries',
      summary: "List an endpoint's deliveries",
      tags: ['Deliveries'],
      auth: 'apiKey',
    },
  })
  .input(
    z.strictObject({
      id: endpointIdSchema,
      status: z.enum(deliveryStatuses).optional(),
      limit: listLimitSchema,
      cursor: deliveryIdSchema.optional(),
    }),
  )
  .output(pageSchema(deliverySchema))
  .query(async ({ ctx, input }) => {
    await findEndpoint(ctx.db, ctx.projectId, input.id);
    const rows = await selectDeliveries(ctx.db)
      .where(
        and(
          eq(deliveries.projectId, ctx.projectId),
          eq(deliveries.endpointId, input.id),
          input.status ? eq(deliveries.status, input.status) : undefined,
          input.cursor ? gt(deliveries.id, input.cursor) : undefined,
        ),
      )
      .orderBy(asc(deliveries.id))
      .limit(input.limit + 1);
    return toDeliveryPage(rows, input.limit);
  });
