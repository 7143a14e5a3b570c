import type { deliveries, deliveryAttempts } from '@herald/db';
import { deliveryStatuses } from '@herald/db';
import { z } from 'zod';
import { idSchema } from '../id-schema';

export const deliveryIdSchema = idSchema('delivery');

export const deliverySchema = z.object({
  id: z.string(),
  endpointId: z.string(),
  eventId: z.string(),
  eventType: z.string(),
  status: z.enum(deliveryStatuses),
  attemptCount: z.number().int(),
  nextAttemptAt: z.string().nullable(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
  /** Payload retention cleared the event's data (and attempts' response excerpts): it cannot be sent again. */
  payloadExpired: z.boolean(),
});

export const attemptSchema = z.object({
  id: z.string(),
  attemptNumber: z.number().int(),
  startedAt: z.string(),
  durationMs: z.number().int(),
  statusCode: z.number().int().nullable(),
  errorClass: z.string().nullable(),
  errorMessage: z.string().nullable(),
  responseBody: z.string().nullable(),
});

export function toDelivery(
  row: typeof deliveries.$inferSelect,
  eventType: string,
  payloadExpiredAt: Date | null,
): z.infer<typeof deliverySchema> {
  return {
    id: row.id,
    endpointId: row.endpointId,
    eventId: row.eventId,
    eventType,
    status: row.status,
    attemptCount: row.attemptCount,
    nextAttemptAt: row.nextAttemptAt?.toISOString() ?? null,
    lastStatusCode: row.lastStatusCode,
    lastError: row.lastError,
    createdAt: row.createdAt.toISOString(),
    completedAt: row.completedAt?.toISOString() ?? null,
    payloadExpired: payloadExpiredAt !== null,
  };
}

export function toAttempt(row: typeof deliveryAttempts.$inferSelect): z.infer<typeof attemptSchema> {
  return {
    id: row.id,
    attemptNumber: row.attemptNumber,
    startedAt: row.startedAt.toISOString(),
    durationMs: row.durationMs,
    statusCode: row.statusCode,
    errorClass: row.errorClass,
    errorMessage: row.errorMessage,
    responseBody: row.responseBody,
  };
}
