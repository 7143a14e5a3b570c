import {
  type EventData,
  type EventOf,
  type EventVersion,
  getEventDefinition,
  type LatestEventVersion,
} from './catalog';
import type { EventDefinition } from './define-event';
import type { EventType } from './event-types';
import { eventEnvelopeSchema } from './parse';

/** Fixed so that docs and snapshots are stable. */
export const exampleEventTimestamp = '2025-01-15T09:30:00.000Z';

/** Crockford base32, the alphabet of Herald's ids (@herald/db `newId`). */
const ID_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * The fixed id of `type`'s example: a well-formed event id, as `newId('event')` makes them (`evt_`, 10
 * characters of time, 16 more), so a consumer that looks it up gets 404, not 400 validation_error.
 * Its time is `exampleEventTimestamp`; the other 16 characters are a hash of the type, so each type
 * has its own and a new type needs none written down.
 */
export function exampleEventId(type: EventType): string {
  return `evt_${base32(BigInt(Date.parse(exampleEventTimestamp)), 10)}${base32(fnv1a(type), 16)}`;
}

/** FNV-1a (128-bit) of `text`'s UTF-8 bytes: a fixed number per text, without a crypto module. */
function fnv1a(text: string): bigint {
  let hash = 0x6c62272e07bb014262b821756295c58dn;
  for (const byte of new TextEncoder().encode(text)) {
    hash = ((hash ^ BigInt(byte)) * 0x1000000000000000000013bn) & ((1n << 128n) - 1n);
  }
  return hash;
}

/** The low `length` × 5 bits of `value` in ID_ALPHABET, most significant first. */
function base32(value: bigint, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    out = ID_ALPHABET[Number(value & 31n)] + out;
    value >>= 5n;
  }
  return out;
}

export interface ExampleEventOverrides<T extends EventType, V extends EventVersion<T>> {
  /** Which version's example to use; the latest by default. */
  version?: V;
  /**
   * Replace the fixed id when the event is really delivered ("send test
   * event"): consumers deduplicate on `id`, so a reused id would be dropped.
   */
  id?: string;
  timestamp?: string;
  data?: EventData<T, V>;
}

/**
 * A complete, valid envelope for `type` built from the catalog example.
 * The result is validated (so invalid overrides throw a ZodError) and is a
 * fresh copy: mutating it never changes the catalog.
 */
export function exampleEvent<T extends EventType, V extends EventVersion<T> = LatestEventVersion<T>>(
  type: T,
  overrides: ExampleEventOverrides<T, V> = {},
): EventOf<T, V> {
  const definition = getEventDefinition(type, overrides.version) as EventDefinition;
  const envelope = {
    id: overrides.id ?? exampleEventId(type),
    type,
    version: definition.version,
    timestamp: overrides.timestamp ?? exampleEventTimestamp,
    data: structuredClone(overrides.data ?? definition.example),
  };
  const schema = eventEnvelopeSchema(type, definition.version as V);
  return schema.parse(envelope) as EventOf<T, V>;
}
