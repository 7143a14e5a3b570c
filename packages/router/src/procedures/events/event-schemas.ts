import type { events } from '@herald/db';
import { eventTypes } from '@herald/events';
import { z } from 'zod';
import { idSchema } from '../id-schema';

export const eventSchema = z.object({
  id: z.string(),
  type: z.enum(eventTypes),
  version: z.number().int(),
  timestamp: z.string(),
  data: z.unknown(),
  /** Payload retention cleared `data` (now `{}`); type and timestamp stay. */
  payloadExpired: z.boolean(),
});

export const eventIdSchema = idSchema('event');

export function toEvent(row: typeof events.$inferSelect): z.infer<typeof eventSchema> {
  return {
    id: row.id,
    type: row.type as z.infer<typeof eventSchema>['type'],
    version: row.version,
    timestamp: row.createdAt.toISOString(),
    data: row.data,
    payloadExpired: row.payloadExpiredAt !== null,
  };
}
