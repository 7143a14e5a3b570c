import {
  EnvError,
  envDatabaseUrl,
  envInt,
  exitOnSignals,
  processLogger,
  shutdownTimeoutFromEnv,
  startOrExit,
} from '@herald/config';
import { createDb, dbTimeoutsFromEnv, secretBoxFromEnv } from '@herald/db';
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
  // It signs with the endpoints' secrets, which the API seals under HERALD_SECRET_KEY: required
  // in production, as the API's.
  const secrets = secretBoxFromEnv();
  const metricsPort = envInt(process.env, 'METRICS_PORT', 9464, { min: 0, max: 65_535 });
  const shutdownTimeoutMs = shutdownTimeoutFromEnv();

  const herald = await createDb({ url, ...dbTimeoutsFromEnv() });
  const wakeup = createDeliveryWakeup(herald);
  const dispatcher = createDispatcher({ db: herald.db, wakeup, config, logger, secrets });
  // Before the first claim: a port that is taken stops start-up (one fatal line, exit 1) with no
  // lease taken. Running on without its probes, the process would be restarted by an orchestrator
  // whose liveness checks fail, or run unwatched where an operator expects /metrics.
  const metrics = await startMetricsServer(herald.db, dispatcher.metrics, { port: metricsPort }).catch(
    (error: unknown) => {
      throw new EnvError(
        'METRICS_PORT',
        `could not be listened on (${errorCode(error)}): /metrics, /healthz and /readyz are served there`,
      );
    },
  );
  await dispatcher.start();
  return { herald, wakeup, dispatcher, metrics, shutdownTimeoutMs };
});

/** `EADDRINUSE`, `EACCES`…: what the listen failed with, without its message's detail. */
function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'error';
}

exitOnSignals(
  logger,
  async () => {
    await dispatcher.stop();
    await metrics.close();
    await wakeup.close();
    await herald.close();
  },
  { timeoutMs: shutdownTimeoutMs },
);
// Once a signal would stop it cleanly: an orchestrator may stop it as soon as it reads this.
logger.info(
  { workerId: dispatcher.workerId, metrics: `${metrics.url}/metrics`, listening: metrics.listening },
  'Herald dispatcher running',
);
