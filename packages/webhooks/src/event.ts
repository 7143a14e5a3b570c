import {
  type AnyEvent,
  eventEnvelopeSchema,
  eventIdSchema,
  eventSequenceSchema,
  eventSubjectSchema,
  eventTimestampSchema,
  eventVersionSchema,
  findEventDefinition,
  isEventType,
} from '@herald/events';
import { z } from 'zod';
import { rejection, type WebhookRejection } from './rejection';

/** Envelope fields that order events of one resource; absent on events about no single resource. */
export interface EventOrdering {
  /** The id of the resource the event is about (the user's id for `user.*`). */
  subject?: string;
  /** 1, 2, 3, … per subject in commit order: ignore an event not newer than the last you applied. */
  sequence?: number;
}

/** An event of a type and version this version of the kit knows, validated against the catalog's schema. */
export type KnownEvent = AnyEvent & EventOrdering;

/**
 * An event of a type, or a version of a known type, published after this version of the kit:
 * the envelope is checked, `data` is passed through untouched (update `@herald/webhooks` to get it typed).
 * Its `type` is a plain string, so narrow with {@link isKnownEvent} before switching on `type`.
 */
export interface UnknownEvent extends EventOrdering {
  id: string;
  type: string;
  version: number;
  timestamp: string;
  data: unknown;
  /** Envelope fields added after this kit was written are kept. */
  [field: string]: unknown;
}

export type HeraldEvent = KnownEvent | UnknownEvent;

/** True for catalog events (then `switch (event.type)` gives each type's exact `data`); false for future ones. */
export function isKnownEvent(event: HeraldEvent): event is KnownEvent {
  return findEventDefinition(event.type, event.version) !== undefined;
}

export type ParseEventResult = { ok: true; event: HeraldEvent } | { ok: false; rejection: WebhookRejection };

// What every Herald webhook body has, whatever its type and version: enough to
// deduplicate, order and log an event this kit cannot read yet.
const envelopeOfAnyEvent = z.looseObject({
  id: eventIdSchema,
  type: z.string().min(1),
  version: eventVersionSchema,
  timestamp: eventTimestampSchema,
  subject: eventSubjectSchema.optional(),
  sequence: eventSequenceSchema.optional(),
  data: z.unknown().refine((data) => data !== undefined, 'Required'),
});

const MAX_REPORTED_ISSUES = 10;

/**
 * Parses a verified webhook body into a {@link HeraldEvent}. A catalog type at a catalog
 * version must pass that version's schema (unknown `data` fields are dropped, as the catalog's
 * compatibility rules say); any other type or version is an {@link UnknownEvent}, never an error.
 */
export function parseHeraldEvent(body: string): ParseEventResult {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, rejection: rejection('invalid_payload', 'The body is not JSON') };
  }
  const envelope = envelopeOfAnyEvent.safeParse(json);
  if (!envelope.success) {
    return { ok: false, rejection: invalidPayload('The body is not a Herald event envelope', envelope.error) };
  }
  const { type, version } = envelope.data;
  if (!isEventType(type) || findEventDefinition(type, version) === undefined) {
    return { ok: true, event: json as UnknownEvent };
  }
  const known = eventEnvelopeSchema(type, version as never).safeParse(json);
  if (!known.success) {
    return { ok: false, rejection: invalidPayload(`The body does not match ${type} version ${version}`, known.error) };
  }
  return { ok: true, event: known.data as KnownEvent };
}

function invalidPayload(message: string, error: z.ZodError): WebhookRejection {
  const issues = error.issues
    .slice(0, MAX_REPORTED_ISSUES)
    .map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
  return rejection('invalid_payload', message, { issues });
}
