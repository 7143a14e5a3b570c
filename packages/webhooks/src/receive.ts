import { type HeaderSource, verify } from '@herald/signing';
import { type HeraldEvent, parseHeraldEvent } from './event';
import { type ResolvedOptions, resolveOptions, type WebhookOptions } from './options';
import { statusOf, type WebhookRejection } from './rejection';

/** The verified delivery an event came in: `id` is the same on every retry, so deduplicate on it. */
export interface ReceivedWebhook {
  /** `webhook-id`. */
  id: string;
  /** `webhook-timestamp`, unix seconds. */
  timestamp: number;
  /** The body exactly as signed (UTF-8 text): store this, never a re-serialised copy. */
  rawBody: string;
}

export type ReceiveResult =
  | { ok: true; event: HeraldEvent; webhook: ReceivedWebhook }
  | { ok: false; rejection: WebhookRejection };

/**
 * Verifies a delivery's Standard Webhooks signature (any of the secrets, within the tolerance)
 * and parses its body into a typed event. `rawBody` must be the body exactly as received.
 * For frameworks without an adapter; the adapters call this too.
 */
export function verifyWebhook(
  rawBody: string | Uint8Array,
  headers: HeaderSource,
  options: WebhookOptions,
): ReceiveResult {
  return receive(rawBody, headers, resolveOptions(options));
}

/** {@link verifyWebhook} with options already checked (the adapters check them once, at creation). */
export function receive(rawBody: string | Uint8Array, headers: HeaderSource, options: ResolvedOptions): ReceiveResult {
  const verification = verify(rawBody, headers, options.secrets, {
    toleranceSeconds: options.tolerance,
    now: options.now(),
  });
  if (!verification.ok) {
    const { code, message } = verification.error;
    return { ok: false, rejection: { status: statusOf(code), code, message } };
  }
  const { id, timestamp, body } = verification.message;
  const parsed = parseHeraldEvent(body);
  if (!parsed.ok) return parsed;
  return { ok: true, event: parsed.event, webhook: { id, timestamp, rawBody: body } };
}
