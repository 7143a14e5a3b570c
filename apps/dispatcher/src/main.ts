import { createLogger, envInt, envString } from '@herald/config';
import { createDb, dbTimeoutsFromEnv } from '@herald/db';
import { createDeliveryWakeup, createDispatcher, dispatcherConfigFromEnv } from '@herald/delivery';
import { startMetricsServer } from './metrics-server';

const logger = createLogger({ service: 'dispatcher' });
const url = envString(process.env, 'DATABASE_URL');
if (!url) {
  // Two processes must never open one PGlite directory.
  logger.error(
    'DATABASE_URL is required. For embedded PGlite, run `pnpm start`: api and dispatcher share one process.',
  );
  process.exit(1);
}
const config = dispatcherConfigFromEnv();
const metricsPort = envInt(process.env, 'METRICS_PORT', 9464, { min: 0, max: 65_535 });

const herald = await createDb({ url, ...dbTimeoutsFromEnv() });
const wakeup = createDeliveryWakeup(herald);
const dispatcher = createDispatcher({ db: herald.db, wakeup, config, logger });
await dispatcher.start();
// Metrics are for operators: a taken port is logged, never a reason to stop delivering.
const metrics = await startMetricsServer(herald.db, dispatcher.metrics, { port: metricsPort }).catch(
  (error: unknown) => {
    logger.error(
      { err: error, port: metricsPort },
      'metrics server could not start (METRICS_PORT); delivering without /metrics',
    );
    return null;
  },
);
logger.info(
  { workerId: dispatcher.workerId, metrics: metrics && `${metrics.url}/metrics` },
  'Herald dispatcher running',
);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'finishing in-flight deliveries');
  await dispatcher.stop();
  await metrics?.close();
  await wakeup.close();
  await herald.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
