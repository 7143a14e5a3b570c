import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Endpoint signing secrets at rest. They cannot be stored as hashes (the dispatcher signs with
 * them, and `GET /v1/endpoints/{id}/secret` shows them), so with a server secret key
 * (`HERALD_SECRET_KEY`) they are stored sealed: AES-256-GCM under a key derived from it, bound to
 * their endpoint's id. A database dump, backup or read-only SQL access then shows no secret.
 *
 * Stored form: `sealed:v1:<key id>:<base64url of nonce, ciphertext and tag>`. A value without the
 * prefix is a secret stored in clear (no key configured, or written before one was), and is
 * returned as it is; the maintenance seals such values once a key is set (`sealPendingSecrets`).
 */
export interface SecretBox {
  /** Whether `seal` seals (a key is configured); without one it stores secrets as they are. */
  readonly sealing: boolean;
  /** The key id `seal` writes (`''` without a key): values sealed under another key are resealed by the maintenance. */
  readonly keyId: string;
  /** What to store for `secret`, bound to `boundTo` (its endpoint's id). */
  seal(secret: string, boundTo: string): string;
  /**
   * The secret stored as `stored`: null when it is sealed under a key this box does not hold, for
   * another endpoint, or was altered. Never throws, and no error quotes the value.
   */
  open(stored: string, boundTo: string): string | null;
  /**
   * Several secrets of one endpoint (a rotation's grace), as they sign: null when any one does not
   * open, since signing with fewer would fail a receiver that holds only that one.
   */
  openAll(stored: readonly string[], boundTo: string): string[] | null;
}

export const SEALED_PREFIX = 'sealed:v1:';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Opened values kept (a claim opens its endpoints' secrets on every batch). */
const OPENED_CACHE_SIZE = 10_000;

interface DerivedKey {
  id: string;
  key: Buffer;
}

/** An AES key and its id, from a server secret (domain-separated from its other uses, such as idempotency MACs). */
function derive(serverSecret: string): DerivedKey {
  const key = Buffer.from(hkdfSync('sha256', serverSecret, '', 'herald endpoint secrets v1', 32));
  // Names the key without revealing it: which one sealed a value, so a rotation finds what to reseal.
  const id = createHmac('sha256', key).update('key id').digest('hex').slice(0, 8);
  return { id, key };
}

/**
 * A box sealing with `current` and opening values sealed with it or any of `previous` (a rotation:
 * the old key stays in `HERALD_SECRET_KEY_PREVIOUS` until the maintenance has resealed every
 * secret). Without `current` nothing is sealed, and sealed values open only with `previous`.
 */
export function secretBox(keys: { current?: string | undefined; previous?: readonly string[] } = {}): SecretBox {
  const sealWith = keys.current === undefined ? null : derive(keys.current);
  const openWith = new Map<string, Buffer>();
  for (const secret of [...(keys.previous ?? []), ...(keys.current === undefined ? [] : [keys.current])]) {
    const derived = derive(secret);
    openWith.set(derived.id, derived.key);
  }
  const opened = new Map<string, string>();

  function openSealed(stored: string, boundTo: string): string | null {
    const rest = stored.slice(SEALED_PREFIX.length);
    const colon = rest.indexOf(':');
    const key = colon === -1 ? undefined : openWith.get(rest.slice(0, colon));
    if (!key) return null;
    const packed = Buffer.from(rest.slice(colon + 1), 'base64url');
    if (packed.length < NONCE_BYTES + TAG_BYTES) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, packed.subarray(0, NONCE_BYTES));
      decipher.setAAD(Buffer.from(boundTo, 'utf8'));
      decipher.setAuthTag(packed.subarray(packed.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(packed.subarray(NONCE_BYTES, packed.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return plain.toString('utf8');
    } catch {
      return null; // Another endpoint's value, or altered: the tag does not match.
    }
  }

  function open(stored: string, boundTo: string): string | null {
    if (!stored.startsWith(SEALED_PREFIX)) return stored;
    const cacheKey = `${boundTo}\n${stored}`;
    const hit = opened.get(cacheKey);
    if (hit !== undefined) return hit;
    const secret = openSealed(stored, boundTo);
    if (secret !== null) {
      if (opened.size >= OPENED_CACHE_SIZE) opened.clear();
      opened.set(cacheKey, secret);
    }
    return secret;
  }

  return {
    sealing: sealWith !== null,
    keyId: sealWith?.id ?? '',
    seal(secret, boundTo) {
      if (!sealWith) return secret;
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', sealWith.key, nonce);
      cipher.setAAD(Buffer.from(boundTo, 'utf8'));
      const sealed = Buffer.concat([nonce, cipher.update(secret, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `${SEALED_PREFIX}${sealWith.id}:${sealed.toString('base64url')}`;
    },
    open,
    openAll(stored, boundTo) {
      const secrets: string[] = [];
      for (const value of stored) {
        const secret = open(value, boundTo);
        if (secret === null) return null;
        secrets.push(secret);
      }
      return secrets;
    },
  };
}

/** Stores secrets as they are and opens only those (no key configured). */
export const CLEAR_SECRET_BOX: SecretBox = secretBox();
