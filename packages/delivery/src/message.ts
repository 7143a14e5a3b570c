import type { WebhookHeaders } from '@herald/signing';
import { signHeaders } from '@herald/signing';

/** What a webhook is about: the stored event, as the claim returns it. */
export interface MessageEvent {
  id: string;
  type: string;
  version: number;
  data: unknown;
  createdAt: Date;
  /** The resource the event is about, and its place in that resource's history (null on older events). */
  subject?: string | null;
  sequence?: number | null;
}

/** The envelope's JSON: the exact bytes that are signed and sent. */
export function envelopeBody(event: MessageEvent): string {
  return JSON.stringify({
    id: event.id,
    type: event.type,
    version: event.version,
    timestamp: event.createdAt.toISOString(),
    ...(event.subject != null ? { subject: event.subject } : {}),
    ...(event.sequence != null ? { sequence: event.sequence } : {}),
    data: event.data,
  });
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
