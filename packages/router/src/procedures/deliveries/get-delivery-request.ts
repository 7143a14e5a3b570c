import { deliveryAttempts, endpoints, events } from '@herald/db';
import { envelopeBody, USER_AGENT } from '@herald/delivery';
import { asc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { projectProcedure } from '../../trpc/init';
import { deliveryIdSchema } from './delivery-schemas';
import { findDelivery } from './find-delivery';

/** Shown instead of a header value that may be a credential. */
export const HIDDEN_HEADER_VALUE = '(hidden)';

const headerSchema = z.object({ name: z.string(), value: z.string() });

/**
 * What a delivery sends: the body (the signed envelope, exactly as sent)
 * and each attempt's request headers. Signatures and the endpoint's own
 * header values (often credentials) are never shown, only their names.
 */
export const getDeliveryRequest = projectProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/deliveries/{id}/request',
      summary: "A delivery's request: the body and each attempt's headers (secrets hidden)",
      tags: ['Deliveries'],
      auth: 'apiKey',
    },
  })
  .input(z.strictObject({ id: deliveryIdSchema }))
  .output(
    z.object({
      url: z.string(),
      body: z.string().describe('The envelope as sent (`data` is `{}` once payload retention cleared it).'),
      attempts: z.array(z.object({ attemptNumber: z.number().int(), headers: z.array(headerSchema) })),
    }),
  )
  .query(async ({ ctx, input }) => {
    const { delivery } = await findDelivery(ctx.db, ctx.projectId, input.id);
    const [[event], [endpoint], attempts] = await Promise.all([
      // The data as the dispatcher reads it (its jsonb text), so the body is the bytes it sends.
      ctx.db
        .select({
          id: events.id,
          type: events.type,
          version: events.version,
          createdAt: events.createdAt,
          subject: events.subject,
          sequence: events.sequence,
          dataJson: sql<string>`${events.data}::text`,
        })
        .from(events)
        .where(eq(events.id, delivery.eventId))
        .limit(1),
      ctx.db.select().from(endpoints).where(eq(endpoints.id, delivery.endpointId)).limit(1),
      ctx.db
        .select({ attemptNumber: deliveryAttempts.attemptNumber, startedAt: deliveryAttempts.startedAt })
        .from(deliveryAttempts)
        .where(eq(deliveryAttempts.deliveryId, delivery.id))
        .orderBy(asc(deliveryAttempts.attemptNumber)),
    ]);
    const custom = Object.keys(endpoint?.headers ?? {}).map((name) => ({ name, value: HIDDEN_HEADER_VALUE }));
    return {
      url: endpoint?.url ?? '',
      body: event ? envelopeBody(event) : '',
      attempts: attempts.map((a) => ({
        attemptNumber: a.attemptNumber,
        headers: [
          ...custom,
          { name: 'content-type', value: 'application/json' },
          { name: 'user-agent', value: USER_AGENT },
          { name: 'webhook-id', value: delivery.eventId },
          { name: 'webhook-timestamp', value: String(Math.floor(a.startedAt.getTime() / 1000)) },
          { name: 'webhook-signature', value: `v1,${HIDDEN_HEADER_VALUE}` },
        ],
      })),
    };
  });
