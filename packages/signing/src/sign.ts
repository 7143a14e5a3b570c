import { cachedSecretKey } from './secret';
import { computeSignature, SIGNATURE_VERSION } from './signature';

export interface SignPayloadInput {
  /** Unique message id, sent as `webhook-id`; receivers use it for deduplication. */
  id: string;
  /** When the message is sent: unix seconds or a Date (sub-second part is dropped). */
  timestamp: number | Date;
  /** The exact bytes that will be sent as the request body (strings are UTF-8). */
  body: string | Uint8Array;
  /** One or more `whsec_…` secrets; each produces one `v1,` entry, in this order. */
  secrets: string | readonly string[];
}

// A type alias rather than an interface so it is assignable to index-signature
// types such as `HeadersInit` and `Record<string, string>` (fetch, verify).
export type WebhookHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

/** The `webhook-signature` header value: space-separated `v1,<base64>` entries, one per secret. */
export function signPayload(input: SignPayloadInput): string {
  return signWithTimestamp(input, unixSecondsString(input.timestamp));
}

/** All three Standard Webhooks headers for one delivery. */
export function signHeaders(input: SignPayloadInput): WebhookHeaders {
  const timestamp = unixSecondsString(input.timestamp);
  return {
    'webhook-id': input.id,
    'webhook-timestamp': timestamp,
    'webhook-signature': signWithTimestamp(input, timestamp),
  };
}

function signWithTimestamp(input: SignPayloadInput, timestamp: string): string {
  const { id, body } = input;
  if (typeof id !== 'string' || id.length === 0) {
    // Receivers reject an empty webhook-id, so signing one is always a bug.
    throw new TypeError('signPayload: id must be a non-empty string');
  }
  const secrets = typeof input.secrets === 'string' ? [input.secrets] : input.secrets;
  if (secrets.length === 0) {
    throw new TypeError('signPayload: at least one secret is required');
  }
  let header = '';
  for (const secret of secrets) {
    const signature = computeSignature(cachedSecretKey(secret), id, timestamp, body);
    header += `${header === '' ? '' : ' '}${SIGNATURE_VERSION},${signature}`;
  }
  return header;
}

function unixSecondsString(timestamp: number | Date): string {
  const seconds = timestamp instanceof Date ? Math.floor(timestamp.getTime() / 1000) : timestamp;
  // Receivers only accept a plain non-negative integer, so anything else
  // (NaN from an invalid Date, fractions, negatives) would be undeliverable.
  if (!Number.isSafeInteger(seconds) || seconds < 0) {
    throw new RangeError(`signPayload: timestamp must be non-negative whole unix seconds or a valid Date`);
  }
  return String(seconds);
}
