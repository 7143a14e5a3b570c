import { z } from 'zod';
import {
  type AnyEvent,
  type EventData,
  type EventDefinitionOf,
  type EventVersion,
  getEventDefinition,
  type LatestEventVersion,
  listEventDefinitions,
} from './catalog';
import type { EventDefinition } from './define-event';
import { envelopeSchema, type eventIdSchema, type eventTimestampSchema, eventVersionSchema } from './envelope';
import { type EventType, eventTypes } from './event-types';

type DataSchemaOf<T extends EventType, V extends EventVersion<T>> =
  EventDefinitionOf<T, V> extends EventDefinition<T, V, infer TSchema> ? TSchema : never;

/** The zod schema of a full envelope whose `type` and `version` are fixed. */
export type EventEnvelopeSchema<T extends EventType, V extends EventVersion<T> = LatestEventVersion<T>> = z.ZodObject<{
  id: typeof eventIdSchema;
  type: z.ZodLiteral<T>;
  version: z.ZodLiteral<V>;
  timestamp: typeof eventTimestampSchema;
  data: DataSchemaOf<T, V>;
}>;

// Built once per (type, version): the union in `anyEventSchema` and callers share them.
const envelopeSchemaCache = new Map<string, z.ZodObject>();

export function eventEnvelopeSchema<T extends EventType, V extends EventVersion<T> = LatestEventVersion<T>>(
  type: T,
  version?: V,
): EventEnvelopeSchema<T, V> {
  const definition = getEventDefinition(type, version) as EventDefinition;
  const cacheKey = `${definition.type}@${definition.version}`;
  let schema = envelopeSchemaCache.get(cacheKey);
  if (schema === undefined) {
    schema = envelopeSchema(definition.schema).extend({
      type: z.literal(definition.type),
      version: z.literal(definition.version).describe(eventVersionSchema.description ?? ''),
    });
    envelopeSchemaCache.set(cacheKey, schema);
  }
  return schema as unknown as EventEnvelopeSchema<T, V>;
}

type NonEmpty<T> = [T, ...T[]];

function buildAnyEventSchema(): z.ZodType<AnyEvent> {
  const perType = eventTypes.map((type) => {
    const envelopes = listEventDefinitions(type).map((definition) =>
      eventEnvelopeSchema(type, definition.version as EventVersion<typeof type>),
    ) as unknown as NonEmpty<z.ZodObject>;
    // A single version needs no inner union; several are told apart by `version`.
    return envelopes.length === 1 ? envelopes[0] : z.discriminatedUnion('version', envelopes);
  });
  const union = z.discriminatedUnion('type', perType as NonEmpty<(typeof perType)[number]>);
  return union as unknown as z.ZodType<AnyEvent>;
}

/** Validates any full event envelope, of any type and any published version. */
export const anyEventSchema: z.ZodType<AnyEvent> = buildAnyEventSchema();

/**
 * Validates `data` against the schema of `type` (latest version unless given)
 * and returns the parsed copy, without unknown keys. Throws a `ZodError`.
 */
export function parseEventData<T extends EventType, V extends EventVersion<T> = LatestEventVersion<T>>(
  type: T,
  data: unknown,
  version?: V,
): EventData<T, V> {
  const definition = getEventDefinition(type, version) as EventDefinition;
  return definition.schema.parse(data) as EventData<T, V>;
}

/**
 * Validates an untrusted webhook body. On success `data` is an `AnyEvent`,
 * so narrowing on `event.type` gives the exact payload type.
 */
export function safeParseEvent(input: unknown): z.ZodSafeParseResult<AnyEvent> {
  return anyEventSchema.safeParse(input);
}
