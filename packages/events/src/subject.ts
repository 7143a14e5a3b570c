import { findEventDefinition } from './catalog';

/**
 * The id of the resource an event is about, as its definition says (the
 * user's id for `user.*`, the endpoint's for `endpoint.*`); null when there is
 * none, or when `type`/`version` is not in the catalog. `data` must already
 * have passed the definition's schema.
 */
export function subjectOf(type: string, data: unknown, version?: number): string | null {
  const definition = findEventDefinition(type, version);
  return definition === undefined ? null : definition.subject(data);
}

/**
 * A stored event's `data` with its subject's personal data erased (email,
 * name, metadata, IP address, user agent), still valid for the schema of
 * `type` at `version`: ids, roles, statuses, reasons and timestamps stay.
 * Returns `data` unchanged for payloads without personal data. Throws when
 * the stored data does not pass its schema or `type`/`version` is unknown:
 * erasure must never silently keep a payload it cannot read.
 */
export function erasedEventData(type: string, version: number, data: unknown): unknown {
  const definition = findEventDefinition(type, version);
  if (definition === undefined) throw new RangeError(`Unknown event type/version: ${type} v${version}`);
  if (definition.erase === undefined) return data;
  return definition.schema.parse(definition.erase(definition.schema.parse(data)));
}
