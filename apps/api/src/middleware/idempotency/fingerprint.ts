import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * What a stored idempotency record says about its request: an HMAC-SHA256,
 * under the server's secret key, of the method, the path with its query and
 * the body. A plain hash of a body that holds a password (`POST /v1/users`,
 * `/v1/logins`, `…/password`) would let anyone who reads the table confirm
 * guesses of that password offline; without the key, the HMAC confirms
 * nothing.
 *
 * Stored as `hmac-sha256:<key id>:<hex>`. The key id (a MAC of a constant
 * under the key, not the key) tells a fingerprint made under this process's
 * key from one made under another: a process that generated its own key, or
 * a key since rotated. Such a fingerprint cannot be checked here.
 */
const SCHEME = 'hmac-sha256';

export interface Fingerprinter {
  of(method: string, pathWithQuery: string, body: string): string;
  /** `same` / `different` when this key made `stored`; `unknown` when another key (or an older format) did. */
  compare(stored: string, current: string): 'same' | 'different' | 'unknown';
}

export function fingerprinter(secretKey: string): Fingerprinter {
  const mac = (text: string) => createHmac('sha256', secretKey).update(text).digest('hex');
  const prefix = `${SCHEME}:${mac('herald idempotency key id').slice(0, 16)}:`;
  return {
    // Length-prefixed parts: no method/path/body split can collide with another.
    of: (method, pathWithQuery, body) =>
      prefix + mac(`${method.length}:${method}\n${pathWithQuery.length}:${pathWithQuery}\n${body}`),
    compare(stored, current) {
      if (!stored.startsWith(prefix)) return 'unknown';
      const a = Buffer.from(stored);
      const b = Buffer.from(current);
      return a.length === b.length && timingSafeEqual(a, b) ? 'same' : 'different';
    },
  };
}

/**
 * The key of a process given none (tests, PostgreSQL outside production
 * without `HERALD_SECRET_KEY`): random, never written anywhere, gone with
 * the process.
 */
export const processSecretKey = randomBytes(32).toString('base64url');
