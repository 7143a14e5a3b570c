import { fileURLToPath } from 'node:url';
import { createLogger, EnvError, envInt, envString, secretKeyFromEnv } from '@herald/config';
import { dbTimeoutsFromEnv } from '@herald/db';
import { dispatcherConfigFromEnv } from '@herald/delivery';
import { apiConfigFromEnv } from '@herald/router';
import { createPlatform } from './platform';

const logger = createLogger({ service: 'api' });
const env = process.env;
const port = envInt(env, 'PORT', 3000, { min: 0, max: 65_535 });
const url = envString(env, 'DATABASE_URL');
// Embedded mode keeps its data in the repository's .data folder, whichever directory pnpm runs in.
const dataDir = envString(env, 'HERALD_DATA_DIR') ?? fileURLToPath(new URL('../../../.data/pglite', import.meta.url));

// The key idempotency fingerprints are HMACs under; production refuses to start without one.
let secretKey: string | undefined;
try {
  secretKey = secretKeyFromEnv(env);
} catch (error) {
  if (!(error instanceof EnvError)) throw error;
  logger.fatal({ variable: error.variable }, error.message);
  process.exit(1);
}

// On embedded PGlite the dispatcher must live in this process (one process
// per PGlite directory). On PostgreSQL it runs here too unless dispatchers
// are deployed on their own (HERALD_DISPATCHER=off).
const runDispatcher = !url || envString(env, 'HERALD_DISPATCHER') !== 'off';
const platform = await createPlatform({
  database: url ? { url, ...dbTimeoutsFromEnv(env) } : { dataDir },
  api: { ...apiConfigFromEnv(env), ...(secretKey === undefined ? {} : { secretKey }) },
  dispatcher: runDispatcher ? dispatcherConfigFromEnv(env) : false,
  logger,
});
const server = await platform.listen({ port, hostname: envString(env, 'HOST') ?? '0.0.0.0' });
logger.info(
  {
    url: server.url,
    driver: platform.herald.driver,
    dispatcher: platform.dispatcher ? 'in-process' : 'off',
    metrics: platform.dispatcher ? `${server.url}/metrics` : null,
  },
  'Herald API listening',
);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down: finishing in-flight requests and deliveries');
  await platform.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
