import { fileURLToPath } from 'node:url';
import {
  EnvError,
  envDatabaseUrl,
  envInt,
  envOnOff,
  envString,
  exitOnSignals,
  processLogger,
  secretKeyFromEnv,
  shutdownTimeoutFromEnv,
  startOrExit,
} from '@herald/config';
import { dbTimeoutsFromEnv } from '@herald/db';
import { dispatcherConfigFromEnv } from '@herald/delivery';
import { apiConfigFromEnv } from '@herald/router';
import { createPlatform } from './platform';
import { DEFAULT_MAX_CONNECTIONS } from './server';

const logger = processLogger('api');
const env = process.env;

// A setting that is wrong, a database that cannot be opened, a port that is taken: one fatal log
// line naming what failed, then exit 1 (never a stack trace that may quote DATABASE_URL).
const { platform, shutdownTimeoutMs, server, metricsToken } = await startOrExit(logger, async () => {
  const port = envInt(env, 'PORT', 3000, { min: 0, max: 65_535 });
  const maxConnections = envInt(env, 'HERALD_MAX_CONNECTIONS', DEFAULT_MAX_CONNECTIONS, { min: 1 });
  const url = envDatabaseUrl(env);
  // Embedded mode keeps its data in the repository's .data folder, whichever directory pnpm runs in.
  const dataDir = envString(env, 'HERALD_DATA_DIR') ?? fileURLToPath(new URL('../../../.data/pglite', import.meta.url));
  // The key idempotency fingerprints are HMACs under; production refuses to start without one.
  const secretKey = secretKeyFromEnv(env);
  // On embedded PGlite the dispatcher must live in this process (one process per PGlite
  // directory). On PostgreSQL it runs here too unless dispatchers are deployed on their own
  // (HERALD_DISPATCHER=off; any value but on/off is refused: a typo must not start one in every API pod).
  const dispatcherOn = envOnOff(env, 'HERALD_DISPATCHER', true);
  const runDispatcher = !url || dispatcherOn;
  const shutdownTimeoutMs = shutdownTimeoutFromEnv(env);
  // `/metrics` names projects and endpoints: on the API's public port only for a scraper holding
  // HERALD_METRICS_TOKEN (a standalone dispatcher serves it on its own METRICS_PORT).
  const metricsToken = envString(env, 'HERALD_METRICS_TOKEN');
  if (metricsToken !== undefined && metricsToken.length < 16) {
    throw new EnvError(
      'HERALD_METRICS_TOKEN',
      'must be at least 16 characters (a scraper holds it; guesses are rate limited)',
    );
  }
  const platform = await createPlatform({
    database: url ? { url, ...dbTimeoutsFromEnv(env) } : { dataDir },
    api: { ...apiConfigFromEnv(env), ...(secretKey === undefined ? {} : { secretKey }) },
    dispatcher: runDispatcher ? dispatcherConfigFromEnv(env) : false,
    logger,
    metricsAccess: metricsToken === undefined ? false : { token: metricsToken },
  });
  const hostname = envString(env, 'HOST') ?? '0.0.0.0';
  const server = await platform.listen({ port, hostname, maxConnections }).catch(async (error: unknown) => {
    // Its dispatcher may have claimed already: given back before the process exits.
    await platform.close({ drainMs: 0 }).catch(() => {});
    throw listenError(error, port, hostname);
  });
  return { platform, shutdownTimeoutMs, server, metricsToken };
});

/** Why the server could not listen, naming the setting to change (`PORT` or `HOST`). */
function listenError(error: unknown, port: number, hostname: string): EnvError {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'EADDRINUSE') return new EnvError('PORT', `${port} is taken on ${hostname} (EADDRINUSE)`);
  if (code === 'EACCES') return new EnvError('PORT', `${port} may not be listened on by this user (EACCES)`);
  return new EnvError(
    'HOST',
    `${JSON.stringify(hostname)} could not be listened on (${typeof code === 'string' ? code : 'error'})`,
  );
}

// Requests under way get half the time to finish (then their connections are closed), the
// dispatcher's deliveries the rest; past the whole of it the process exits 1.
exitOnSignals(logger, () => platform.close({ drainMs: Math.floor(shutdownTimeoutMs / 2) }), {
  timeoutMs: shutdownTimeoutMs,
});
// Once a signal would stop it cleanly: an orchestrator may stop it as soon as it reads this.
logger.info(
  {
    url: server.url,
    driver: platform.herald.driver,
    dispatcher: platform.dispatcher ? 'in-process' : 'off',
    metrics: platform.dispatcher && metricsToken !== undefined ? `${server.url}/metrics` : null,
  },
  'Herald API listening',
);
