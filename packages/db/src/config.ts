import type { Env } from '@herald/config';
import { envDuration } from '@herald/config';
import type { CreateDbOptions } from './client';
import { defaultDbTimeouts } from './client';

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
