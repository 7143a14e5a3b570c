import { type HeaderSource, verify } from '@herald/signing';
import { type HeraldEvent, parseHeraldEvent } from './event';
import { type ResolvedOptions, resolveOptions, type WebhookOptions } from './options';
import { rejection, statusOf, type WebhookRejection } from './rejection';

/** The verified delivery an event came in: `id` is the same on every retry, so deduplicate on it. */
export interface ReceivedWebhook {
  /** `webhook-id`. */
  id: string;
  /** `webhook-timestamp`, unix seconds. */
  timestamp: number;
  /** The body exactly as signed (UTF-8 text; a body that is not valid UTF-8 is refused): store this, never a re-serialised copy. */
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
  const { id, timestamp } = verification.message;
  // Checked after the signature, as the JSON is: a request that is not signed is answered 401 whatever its
  // body. verify's own text turns invalid UTF-8 into U+FFFD, which is not the body as signed (and Herald
  // sends only UTF-8 JSON), so bytes are decoded here again, strictly. A string is taken as given.
  const body = typeof rawBody === 'string' ? rawBody : strictUtf8Text(rawBody);
  if (body === null) return { ok: false, rejection: rejection('invalid_payload', 'The body is not valid UTF-8') };
  const parsed = parseHeraldEvent(body);
  if (!parsed.ok) return parsed;
  return { ok: true, event: parsed.event, webhook: { id, timestamp, rawBody: body } };
}

/** Fails on any invalid sequence instead of replacing it; `ignoreBOM` keeps a leading BOM in the text, as sent. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function strictUtf8Text(bytes: Uint8Array): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}
