import type { WebhookHeaders } from '@herald/signing';
import { signHeaders } from '@herald/signing';

/** What a webhook is about: the stored event, as the claim returns it. */
export interface MessageEvent {
  id: string;
  type: string;
  version: number;
  /** The event's data, to serialize; unused when `dataJson` is given. */
  data?: unknown;
  /**
   * The event's data as stored: PostgreSQL's text of the jsonb value (`data::text`), spliced into
   * the envelope as it is. Claims read it so, not parsed: parsing and serializing ~1 KB of data
   * per delivery was 4 µs, the largest cost of Herald's own in the dispatcher's profile.
   */
  dataJson?: string;
  createdAt: Date;
  /** The resource the event is about, and its place in that resource's history (null on older events). */
  subject?: string | null;
  sequence?: number | null;
}

/** Bodies already built, by event object: a claim hands one object to all of an event's deliveries. */
const bodies = new WeakMap<MessageEvent, string>();

/**
 * The envelope's JSON: the exact bytes that are signed and sent. Built once per event object, so
 * an event fanned out to several endpoints in one claim is serialized once (`toClaimedDeliveries`
 * shares the object); the event must not be changed after its first body.
 */
export function envelopeBody(event: MessageEvent): string {
  let body = bodies.get(event);
  if (body === undefined) {
    body = buildEnvelope(event);
    bodies.set(event, body);
  }
  return body;
}

function buildEnvelope(event: MessageEvent): string {
  const head = {
    id: event.id,
    type: event.type,
    version: event.version,
    timestamp: event.createdAt.toISOString(),
    ...(event.subject != null ? { subject: event.subject } : {}),
    ...(event.sequence != null ? { sequence: event.sequence } : {}),
  };
  // `data` last either way. The stored text is JSON as PostgreSQL writes jsonb out (a space after
  // each `:` and `,`, keys in jsonb's order): the same value, and the body is signed as sent.
  if (event.dataJson !== undefined) return `${JSON.stringify(head).slice(0, -1)},"data":${event.dataJson}}`;
  return JSON.stringify({ ...head, data: event.data });
}

/**
 * The request headers of one webhook attempt: the endpoint's own headers,
 * then the Standard Webhooks headers (`webhook-id` is the event id, so it is
 * the same on every retry and every endpoint), signed with every active
 * secret. The only place in Herald that produces webhook headers.
 */
export function webhookHeaders(input: {
  eventId: string;
  body: string;
  secrets: readonly string[];
  sentAt: Date;
  endpointHeaders?: Record<string, string>;
}): Record<string, string> & WebhookHeaders {
  return {
    ...input.endpointHeaders,
    ...signHeaders({ id: input.eventId, timestamp: input.sentAt, body: input.body, secrets: input.secrets }),
  };
}
