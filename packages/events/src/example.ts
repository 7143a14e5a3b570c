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

/** `evt_example_user_login_failed` for `user.login.failed`: fixed, and readable in logs. */
export function exampleEventId(type: EventType): string {
  return `evt_example_${type.replaceAll('.', '_')}`;
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
