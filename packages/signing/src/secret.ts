import { randomBytes } from 'node:crypto';
import { WebhookVerificationError } from './errors';

/** What every signing secret starts with (Standard Webhooks). */
export const SIGNING_SECRET_PREFIX = 'whsec_';
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;

// Standard base64, its `=` padding optional, as the reference libraries (standardwebhooks, svix)
// take it: a secret copied without its final `=` (a double-click selection stops there) is the
// same key. Anything else is refused: Node's own decoder silently skips invalid characters, so a
// typo in a secret would otherwise yield a different (wrong) key instead of an error.
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/** A new `whsec_…` secret made of `byteLength` (24–64) random bytes. */
export function generateSecret(byteLength = 32): string {
  if (!Number.isInteger(byteLength) || byteLength < MIN_SECRET_BYTES || byteLength > MAX_SECRET_BYTES) {
    throw new RangeError(
      `generateSecret: byteLength must be an integer from ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES}, ` +
        `got ${byteLength}`,
    );
  }
  return SIGNING_SECRET_PREFIX + randomBytes(byteLength).toString('base64');
}

/**
 * The HMAC key bytes of a secret: `whsec_<base64>` or bare `<base64>`.
 * Throws {@link WebhookVerificationError} `invalid_secret` for anything else.
 * Returns a fresh Buffer the caller may keep or mutate.
 */
export function decodeSecret(secret: string): Buffer {
  if (typeof secret !== 'string') {
    throw new WebhookVerificationError('invalid_secret', 'Webhook secret must be a string');
  }
  const encoded = secret.startsWith(SIGNING_SECRET_PREFIX) ? secret.slice(SIGNING_SECRET_PREFIX.length) : secret;
  if (encoded.length === 0 || !BASE64_PATTERN.test(encoded)) {
    throw new WebhookVerificationError(
      'invalid_secret',
      'Webhook secret must be "whsec_" followed by non-empty standard base64',
    );
  }
  return Buffer.from(encoded, 'base64');
}

// Senders sign every delivery with the same few secrets, so decoding them once
// matters on the dispatch hot path. Bounded so a process that sees many
// endpoints' secrets cannot grow it without limit; eviction is oldest-first,
// which is good enough for a working set this small.
const KEY_CACHE_LIMIT = 256;
const keyCache = new Map<string, Buffer>();

/** Like {@link decodeSecret}, memoised. The returned Buffer is shared: never mutate it. */
export function cachedSecretKey(secret: string): Buffer {
  const cached = keyCache.get(secret);
  if (cached !== undefined) return cached;
  const key = decodeSecret(secret);
  if (keyCache.size >= KEY_CACHE_LIMIT) {
    const oldest = keyCache.keys().next();
    if (oldest.done !== true) keyCache.delete(oldest.value);
  }
  keyCache.set(secret, key);
  return key;
}

/** For tests: whether the key cache is holding `secret`, and how many entries it has. */
export function keyCacheStats(secret?: string): { size: number; has: boolean } {
  return { size: keyCache.size, has: secret !== undefined && keyCache.has(secret) };
}
