import {
  EnvError,
  envDatabaseUrl,
  envInt,
  exitOnSignals,
  processLogger,
  shutdownTimeoutFromEnv,
  startOrExit,
} from '@herald/config';
import { createDb, dbTimeoutsFromEnv } from '@herald/db';
import { createDeliveryWakeup, createDispatcher, dispatcherConfigFromEnv } from '@herald/delivery';
import { startMetricsServer } from './metrics-server';

const logger = processLogger('dispatcher');

const { herald, wakeup, dispatcher, metrics, shutdownTimeoutMs } = await startOrExit(logger, async () => {
  const url = envDatabaseUrl(process.env);
  if (!url) {
    // Two processes must never open one PGlite directory.
    throw new EnvError(
      'DATABASE_URL',
      'is required. For embedded PGlite, run `pnpm start`: api and dispatcher share one process.',
    );
  }
  const config = dispatcherConfigFromEnv();
  const metricsPort = envInt(process.env, 'METRICS_PORT', 9464, { min: 0, max: 65_535 });
  const shutdownTimeoutMs = shutdownTimeoutFromEnv();

  const herald = await createDb({ url, ...dbTimeoutsFromEnv() });
  const wakeup = createDeliveryWakeup(herald);
  const dispatcher = createDispatcher({ db: herald.db, wakeup, config, logger });
  await dispatcher.start();
  // Metrics and probes are for operators: a taken port is logged, never a reason to stop delivering.
  const metrics = await startMetricsServer(herald.db, dispatcher.metrics, { port: metricsPort }).catch(
    (error: unknown) => {
      logger.error(
        { err: error, port: metricsPort },
        'metrics server could not start (METRICS_PORT); delivering without /metrics, /healthz and /readyz',
      );
      return null;
    },
  );
  logger.info(
    { workerId: dispatcher.workerId, metrics: metrics && `${metrics.url}/metrics` },
    'Herald dispatcher running',
  );
  return { herald, wakeup, dispatcher, metrics, shutdownTimeoutMs };
});

exitOnSignals(
  logger,
  async () => {
    await dispatcher.stop();
    await metrics?.close();
    await wakeup.close();
    await herald.close();
  },
  { timeoutMs: shutdownTimeoutMs },
);
