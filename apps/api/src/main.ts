import { fileURLToPath } from 'node:url';
import { createDispatcher, dispatcherConfigFromEnv, startMetricsServer } from '@herald/dispatcher';
import { createDb, createDeliveryWakeup } from '@herald/db';
import { createApp } from './app';
import { apiConfigFromEnv } from './config';
import { createLogger } from './logger';
import { listen } from './server';

const logger = createLogger();
const port = Number(process.env.PORT ?? 3000);
// Embedded mode keeps its data in the repository's .data folder, whichever directory pnpm runs in.
const dataDir = process.env.HERALD_DATA_DIR ?? fileURLToPath(new URL('../../../.data/pglite', import.meta.url));
const herald = await createDb(process.env.DATABASE_URL ? { url: process.env.DATABASE_URL } : { dataDir });
const wakeup = createDeliveryWakeup(herald);
const app = createApp({ db: herald.db, config: apiConfigFromEnv(), wakeup, logger });

// On embedded PGlite the dispatcher must live in this process (one process
// per PGlite directory). On PostgreSQL it runs here too unless dispatchers
// are deployed on their own (HERALD_DISPATCHER=off).
const runDispatcher = herald.driver === 'pglite' || process.env.HERALD_DISPATCHER !== 'off';
const dispatcher = runDispatcher
  ? createDispatcher({ db: herald.db, wakeup, config: dispatcherConfigFromEnv(), logger: logger.child({ service: 'dispatcher' }) })
  : null;
await dispatcher?.start();
const metrics = dispatcher
  ? await startMetricsServer(herald.db, dispatcher.metrics, { port: Number(process.env.METRICS_PORT ?? 9464) })
  : null;

const server = await listen(app, { port, hostname: process.env.HOST ?? '0.0.0.0' });
logger.info(
  { url: server.url, driver: herald.driver, dispatcher: dispatcher ? 'in-process' : 'off', metrics: metrics && `${metrics.url}/metrics` },
  'Herald API listening',
);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down: finishing in-flight requests and deliveries');
  await server.close();
  await dispatcher?.stop();
  await metrics?.close();
  await wakeup.close();
  await herald.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
