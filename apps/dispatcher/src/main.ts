import { createDb, createDeliveryWakeup } from '@herald/db';
import pino from 'pino';
import { dispatcherConfigFromEnv } from './config';
import { createDispatcher } from './dispatcher';
import { startMetricsServer } from './metrics-server';

const logger = pino({ name: 'herald-dispatcher', level: process.env.HERALD_LOG_LEVEL ?? 'info' });
const url = process.env.DATABASE_URL;
if (!url) {
  // Two processes must never open one PGlite directory.
  logger.error('DATABASE_URL is required. For embedded PGlite, run `pnpm start`: api and dispatcher share one process.');
  process.exit(1);
}

const herald = await createDb({ url });
const wakeup = createDeliveryWakeup(herald);
const dispatcher = createDispatcher({ db: herald.db, wakeup, config: dispatcherConfigFromEnv(), logger });
await dispatcher.start();
const metrics = await startMetricsServer(herald.db, dispatcher.metrics, { port: Number(process.env.METRICS_PORT ?? 9464) });
logger.info({ workerId: dispatcher.workerId, metrics: `${metrics.url}/metrics` }, 'Herald dispatcher running');

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'finishing in-flight deliveries');
  await dispatcher.stop();
  await metrics.close();
  await wakeup.close();
  await herald.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
