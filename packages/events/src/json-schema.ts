import { z } from 'zod';
import { getEventDefinition } from './catalog';
import type { EventDefinition } from './define-event';
import { type EventType, eventTypes } from './event-types';
import { eventEnvelopeSchema } from './parse';

export type JsonSchema = z.core.JSONSchema.JSONSchema;

export interface EventJsonSchema {
  description: string;
  version: number;
  /** JSON Schema of `data`. */
  schema: JsonSchema;
  /** JSON Schema of the whole webhook body. */
  envelope: JsonSchema;
}

/** One row of `GET /v1/event-types`. */
export interface EventTypeSummary {
  type: EventType;
  description: string;
  version: number;
  schema: JsonSchema;
  example: unknown;
}

function toJsonSchema(schema: z.ZodType): JsonSchema {
  const generated = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    // In "output" mode zod adds `additionalProperties: false` to every object.
    // Published schemas must instead let consumers accept fields added to a
    // version later, so describe the (non-strict) input side.
    io: 'input',
  });
  // Drops zod's non-enumerable `~standard` helper so the result is plain JSON.
  return JSON.parse(JSON.stringify(generated)) as JsonSchema;
}

function latestDefinition(type: EventType): EventDefinition {
  return getEventDefinition(type) as EventDefinition;
}

/**
 * JSON Schemas (draft 2020-12, valid in OpenAPI 3.1) of the latest version of
 * every event type. Fresh objects on every call, so callers may edit them.
 */
export function eventJsonSchemas(): Record<EventType, EventJsonSchema> {
  const entries = eventTypes.map((type): [EventType, EventJsonSchema] => {
    const definition = latestDefinition(type);
    return [
      type,
      {
        description: definition.description,
        version: definition.version,
        schema: toJsonSchema(definition.schema),
        envelope: toJsonSchema(eventEnvelopeSchema(type)),
      },
    ];
  });
  return Object.fromEntries(entries) as Record<EventType, EventJsonSchema>;
}

/** The catalog as served by `GET /v1/event-types`, in `eventTypes` order. */
export function catalogForApi(): EventTypeSummary[] {
  return eventTypes.map((type) => {
    const definition = latestDefinition(type);
    return {
      type,
      description: definition.description,
      version: definition.version,
      schema: toJsonSchema(definition.schema),
      example: structuredClone(definition.example),
    };
  });
}
