/**
 * Every event type Herald can emit. Kept as a literal tuple (rather than
 * derived from the catalog) so it works directly with `z.enum(eventTypes)`;
 * the catalog is type-checked against it, so the two cannot drift apart.
 */
export const eventTypes = [
  'user.created',
  'user.updated',
  'user.deleted',
  'user.password.changed',
  'user.login.succeeded',
  'user.login.failed',
  'endpoint.disabled',
] as const;

export type EventType = (typeof eventTypes)[number];

const eventTypeSet: ReadonlySet<string> = new Set(eventTypes);

export function isEventType(value: string): value is EventType {
  return eventTypeSet.has(value);
}
