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

export const eventSubjectSchema = z
  .string()
  .min(1)
  .describe(
    "The id of the resource the event is about: the user's id for `user.*`, the endpoint's for `endpoint.*`. " +
      'Absent on events about no single resource.',
  );

export const eventSequenceSchema = z
  .number()
  .int()
  .positive()
  .describe(
    "The event's place in its subject's history: 1, 2, 3, … in the order the changes committed. " +
      'Apply events of one subject in this order (or ignore one older than the last you applied). ' +
      'Present whenever `subject` is; absent on events recorded before sequences existed.',
  );

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
    subject: eventSubjectSchema.optional(),
    sequence: eventSequenceSchema.optional(),
    data,
  });
}
