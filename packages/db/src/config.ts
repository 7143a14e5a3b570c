import type { Env } from '@herald/config';
import { envDuration, previousSecretKeysFromEnv, secretKeyFromEnv } from '@herald/config';
import type { CreateDbOptions } from './client';
import { defaultDbTimeouts } from './client';
import type { SecretBox } from './sealed-secrets';
import { secretBox } from './sealed-secrets';

/** The database timeouts a Herald process takes from its environment. */
export function dbTimeoutsFromEnv(
  env: Env = process.env,
): Required<Pick<CreateDbOptions, 'connectTimeoutMs' | 'statementTimeoutMs'>> {
  const d = defaultDbTimeouts;
  return {
    connectTimeoutMs: envDuration(env, 'HERALD_DB_CONNECT_TIMEOUT', d.connectTimeoutMs, { min: 100, max: 600_000 }),
    statementTimeoutMs: envDuration(env, 'HERALD_DB_STATEMENT_TIMEOUT', d.statementTimeoutMs, { max: 86_400_000 }),
  };
}

/**
 * The box endpoint signing secrets are sealed with, from `HERALD_SECRET_KEY` and
 * `HERALD_SECRET_KEY_PREVIOUS` (see `SecretBox`). Without a key (allowed outside production)
 * secrets are stored in clear and only those open.
 */
export function secretBoxFromEnv(env: Env = process.env): SecretBox {
  return secretBox({ current: secretKeyFromEnv(env), previous: previousSecretKeysFromEnv(env) });
}
