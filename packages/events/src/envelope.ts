import { z } from 'zod';
import { eventTypes } from './event-types';
import { isoTimestampSchema } from './shared';

/** `evt_` followed by a URL-safe token (ULID, KSUID, nanoid, UUID all fit). */
export const eventIdSchema = z
  .string()
  .regex(/^evt_[A-Za-z0-9_-]+$/)
  .describe('Unique event id. Redeliveries reuse it, so consumers can deduplicate on it.');

export const eventVersionSchema = z
  .number()
  .int()
  .positive()
  .describe('Schema version of `data`: the latest version of the event type when the event was recorded.');

export const eventTimestampSchema = isoTimestampSchema.describe('When the event happened (ISO-8601, UTC).');

/**
 * The envelope every webhook body shares, with `data` left to the caller.
 * Use `eventEnvelopeSchema(type)` for the envelope of one specific event type.
 */
export function envelopeSchema<TData extends z.ZodType>(data: TData) {
  return z.object({
    id: eventIdSchema,
    type: z.enum(eventTypes),
    version: eventVersionSchema,
    timestamp: eventTimestampSchema,
    data,
  });
}
