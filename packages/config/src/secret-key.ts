import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { Env } from './env';
import { EnvError, envString } from './env';

export const SECRET_KEY_VARIABLE = 'HERALD_SECRET_KEY';
/** The key a rotation of `HERALD_SECRET_KEY` replaced: still opening what it sealed. */
export const PREVIOUS_SECRET_KEYS_VARIABLE = 'HERALD_SECRET_KEY_PREVIOUS';
/** Shortest secret taken: 32 characters (`openssl rand -base64 32` gives 44). */
export const SECRET_KEY_MIN_LENGTH = 32;

const HOW_TO_MAKE_ONE = 'e.g. the output of `openssl rand -base64 32`';

/**
 * `HERALD_SECRET_KEY`: the server secret Herald's MACs are keyed with (the
 * fingerprints of idempotent requests). Required when `NODE_ENV=production`;
 * elsewhere undefined when unset, and the caller decides (a key kept under
 * the embedded data directory, or one per process). Errors never quote it.
 */
export function secretKeyFromEnv(env: Env = process.env): string | undefined {
  const key = envString(env, SECRET_KEY_VARIABLE);
  if (key === undefined) {
    if (envString(env, 'NODE_ENV') === 'production') {
      throw new EnvError(
        SECRET_KEY_VARIABLE,
        `is required when NODE_ENV=production: set it to a random secret of at least ${SECRET_KEY_MIN_LENGTH} ` +
          `characters, ${HOW_TO_MAKE_ONE}`,
      );
    }
    return undefined;
  }
  if (key.length < SECRET_KEY_MIN_LENGTH) {
    throw new EnvError(
      SECRET_KEY_VARIABLE,
      `must be at least ${SECRET_KEY_MIN_LENGTH} characters long, ${HOW_TO_MAKE_ONE}`,
    );
  }
  return key;
}

/**
 * `HERALD_SECRET_KEY_PREVIOUS`: the key a rotation of `HERALD_SECRET_KEY` replaced, whole (a key
 * may hold any character, commas included, so it is one key, not a list). Endpoint signing
 * secrets sealed under it still open, and the maintenance reseals them under the current key;
 * once `herald_endpoint_secrets_not_sealed_current` reads 0 on every dispatcher, it can go.
 */
export function previousSecretKeysFromEnv(env: Env = process.env): string[] {
  const key = envString(env, PREVIOUS_SECRET_KEYS_VARIABLE);
  if (key === undefined) return [];
  if (key.length < SECRET_KEY_MIN_LENGTH) {
    throw new EnvError(PREVIOUS_SECRET_KEYS_VARIABLE, `must be at least ${SECRET_KEY_MIN_LENGTH} characters long`);
  }
  return [key];
}

/**
 * The secret kept in `file` (owner-only, mode 0600), made on first use: an
 * embedded installation keeps one key across restarts without configuration.
 * Two processes starting at once read the same key (the file is created
 * exclusively). A file others can read is narrowed to 0600.
 */
export function loadOrCreateSecretKey(file: string): string {
  try {
    writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  const key = readFileSync(file, 'utf8').trim();
  if (key.length < SECRET_KEY_MIN_LENGTH) {
    throw new Error(
      `${file}: the stored secret key is shorter than ${SECRET_KEY_MIN_LENGTH} characters; ` +
        'delete the file to have a new one made, or set HERALD_SECRET_KEY',
    );
  }
  return key;
}
