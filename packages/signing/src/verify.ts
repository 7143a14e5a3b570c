import { timingSafeEqualString } from './constant-time';
import { WebhookVerificationError } from './errors';
import { type HeaderSource, readHeader, readHeaderList } from './headers';
import { cachedSecretKey } from './secret';
import { computeSignature, SIGNATURE_VERSION } from './signature';

export const DEFAULT_TOLERANCE_SECONDS = 300;

export interface VerifyOptions {
  /** Largest accepted clock difference in either direction, inclusive. Default 300. */
  toleranceSeconds?: number;
  /** The receiver's current time, as unix seconds or a Date. Default: the real clock. */
  now?: Date | number;
}

export interface VerifiedMessage {
  id: string;
  /** Unix seconds from `webhook-timestamp`. */
  timestamp: number;
  /**
   * The raw body as text. Byte bodies are decoded as UTF-8 with invalid sequences replaced by U+FFFD: for
   * bytes that are not valid UTF-8 this is not the body as signed (the signature was checked over the bytes).
   */
  body: string;
}

export type VerifyResult = { ok: true; message: VerifiedMessage } | { ok: false; error: WebhookVerificationError };

// Only a plain decimal integer: no sign, exponent, whitespace or leading zeros,
// so the string that was signed is exactly the one we re-sign.
const TIMESTAMP_PATTERN = /^(?:0|[1-9][0-9]{0,15})$/;

/**
 * Checks a delivery's Standard Webhooks signature against one or more secrets
 * (several during rotation). `rawBody` must be the body exactly as received —
 * re-serialised JSON will not match.
 *
 * Returns an error result for anything wrong with the request or the secrets;
 * throws only for programming errors (non string/bytes body, invalid options).
 */
export function verify(
  rawBody: string | Uint8Array,
  headers: HeaderSource,
  secrets: string | readonly string[],
  opts: VerifyOptions = {},
): VerifyResult {
  if (typeof rawBody !== 'string' && !(rawBody instanceof Uint8Array)) {
    throw new TypeError('verify: rawBody must be the unparsed request body (string or Uint8Array)');
  }
  const toleranceSeconds = opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  // A NaN or negative tolerance would silently disable or break the replay
  // window, so refuse it loudly instead.
  if (!(toleranceSeconds >= 0)) {
    throw new RangeError('verify: toleranceSeconds must be a non-negative number');
  }
  const nowSeconds = toUnixSeconds(opts.now);

  const id = readHeader(headers, 'webhook-id');
  const timestampHeader = readHeader(headers, 'webhook-timestamp');
  // Several values of it (an array) are one list of signatures, as one value with spaces is.
  const signatureHeader = readHeaderList(headers, 'webhook-signature', ' ');
  if (!id) return failure('missing_header', 'Missing webhook-id header');
  if (!timestampHeader) return failure('missing_header', 'Missing webhook-timestamp header');
  if (!signatureHeader) return failure('missing_header', 'Missing webhook-signature header');

  if (!TIMESTAMP_PATTERN.test(timestampHeader)) {
    return failure('invalid_timestamp', 'webhook-timestamp must be whole unix seconds');
  }
  const timestamp = Number(timestampHeader);
  if (nowSeconds - timestamp > toleranceSeconds) {
    return failure('timestamp_too_old', `webhook-timestamp is more than ${toleranceSeconds}s in the past`);
  }
  if (timestamp - nowSeconds > toleranceSeconds) {
    return failure('timestamp_too_new', `webhook-timestamp is more than ${toleranceSeconds}s in the future`);
  }

  const secretList = typeof secrets === 'string' ? [secrets] : secrets;
  if (!Array.isArray(secretList) || secretList.length === 0) {
    return failure('invalid_secret', 'No webhook secret configured');
  }
  const expectedSignatures: string[] = [];
  for (const secret of secretList) {
    let key: Buffer;
    try {
      key = cachedSecretKey(secret);
    } catch (error) {
      if (error instanceof WebhookVerificationError) return { ok: false, error };
      throw error;
    }
    expectedSignatures.push(computeSignature(key, id, timestampHeader, rawBody));
  }

  for (const candidate of v1Signatures(signatureHeader)) {
    for (const expected of expectedSignatures) {
      if (timingSafeEqualString(expected, candidate)) {
        return { ok: true, message: { id, timestamp, body: bodyText(rawBody) } };
      }
    }
  }
  return failure('no_matching_signature', 'No matching webhook signature found');
}

/** Like {@link verify} but returns the message or throws the {@link WebhookVerificationError}. */
export function verifyOrThrow(
  rawBody: string | Uint8Array,
  headers: HeaderSource,
  secrets: string | readonly string[],
  opts?: VerifyOptions,
): VerifiedMessage {
  const result = verify(rawBody, headers, secrets, opts);
  if (!result.ok) throw result.error;
  return result.message;
}

/**
 * Signature parts of the `v1,` entries; other versions and malformed entries are ignored. An entry is
 * read as `version,signature`, anything after a further comma ignored, as the standardwebhooks and svix
 * libraries read it: Node and Fetch join a header sent twice with `, `, which leaves a comma on the
 * first value's last entry (`v1,abc=, v1,def=`).
 */
function* v1Signatures(header: string): Generator<string> {
  const prefix = `${SIGNATURE_VERSION},`;
  for (const entry of header.split(' ')) {
    if (!entry.startsWith(prefix)) continue;
    const end = entry.indexOf(',', prefix.length);
    const signature = end < 0 ? entry.slice(prefix.length) : entry.slice(prefix.length, end);
    if (signature !== '') yield signature;
  }
}

function toUnixSeconds(now: Date | number | undefined): number {
  const seconds = now === undefined ? Date.now() / 1000 : now instanceof Date ? now.getTime() / 1000 : now;
  if (!Number.isFinite(seconds)) {
    throw new RangeError('verify: now must be a valid Date or finite unix seconds');
  }
  return Math.floor(seconds);
}

function bodyText(rawBody: string | Uint8Array): string {
  if (typeof rawBody === 'string') return rawBody;
  return Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength).toString('utf8');
}

function failure(code: WebhookVerificationError['code'], message: string): VerifyResult {
  return { ok: false, error: new WebhookVerificationError(code, message) };
}
