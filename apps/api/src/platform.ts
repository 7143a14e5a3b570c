import { join } from 'node:path';
import { loadOrCreateSecretKey } from '@herald/config';
import type { CreateDbOptions, Database, HeraldDb } from '@herald/db';
import { createDb, secretBox } from '@herald/db';
import type { DeliveryWakeup, Dispatcher, DispatcherConfig, Resolver } from '@herald/delivery';
import { createDeliveryWakeup, createDispatcher } from '@herald/delivery';
import type { ApiConfig } from '@herald/router';
import type { Logger } from 'pino';
import { createApp } from './app';
import type { ListenOptions, RunningServer } from './server';
import { listen } from './server';

export interface PlatformOptions {
  /** An open database (tests, the bench), or where to open one: PostgreSQL `url`, else PGlite `dataDir`. */
  database: { herald: HeraldDb } | CreateDbOptions;
  /** `secretKey` unset: see `defaultSecretKey`. */
  api?: Partial<ApiConfig>;
  /** The in-process dispatcher's settings; `false` runs none (it runs elsewhere). */
  dispatcher?: Partial<DispatcherConfig> | false;
  /** Start the dispatcher now (default true). */
  startDispatcher?: boolean;
  /** DNS for the dispatcher's SSRF check (tests inject one). */
  resolve?: Resolver;
  logger?: Logger;
  /** The built portal served under `/portal` (default: `apps/portal/dist`). */
  portalDir?: string;
  /** Who may read the in-process dispatcher's `/metrics` (see `CreateAppOptions.metricsAccess`). */
  metricsAccess?: 'open' | { token: string } | false;
}

export interface Platform {
  herald: HeraldDb;
  db: Database;
  wakeup: DeliveryWakeup;
  app: ReturnType<typeof createApp>;
  dispatcher: Dispatcher | null;
  /** Serves the app on a real socket; the server is closed first by `close()`. */
  listen(options?: ListenOptions): Promise<RunningServer>;
  /**
   * Server, then dispatcher (in-flight deliveries finish, leases are given
   * back), then wakeup, then the database it opened. `drainMs`: how long the server waits for
   * requests under way before it closes their connections (default: as long as they take).
   */
  close(options?: { drainMs?: number }): Promise<void>;
}

/**
 * The one composition of a Herald process: database + wakeup + HTTP app +
 * (optionally) the dispatcher, with one close order. `pnpm start`, the demo,
 * the end-to-end tests and the bench all build Herald through it.
 */
export async function createPlatform(options: PlatformOptions): Promise<Platform> {
  const owned = !('herald' in options.database);
  const herald = 'herald' in options.database ? options.database.herald : await createDb(options.database);
  const wakeup = createDeliveryWakeup(herald);
  const secretKey = options.api?.secretKey ?? defaultSecretKey(herald, options.logger);
  // Only a configured key seals signing secrets. Not one of this process alone (the others could not
  // open them), nor the one kept under an embedded data directory: it sits beside the records it
  // would protect, in every copy of them, and losing it alone would lose every secret.
  const secrets = secretBox({
    current: options.api?.secretKey,
    ...(options.api?.previousSecretKeys ? { previous: options.api.previousSecretKeys } : {}),
  });
  const dispatcher =
    options.dispatcher === false
      ? null
      : createDispatcher({
          db: herald.db,
          wakeup,
          config: {
            ...options.dispatcher,
            ...(options.api?.allowPrivateNetworks ? { allowPrivateNetworks: true } : {}),
          },
          // `component`, not `service`: the API's logger already binds `service`, and a child binding
          // it again wrote the key twice in one JSON line.
          ...(options.logger ? { logger: options.logger.child({ component: 'dispatcher' }) } : {}),
          ...(options.resolve ? { resolve: options.resolve } : {}),
          secrets,
        });
  // Ends long-lived `herald listen` streams first: an open stream would hold the server's close() forever.
  const shutdown = new AbortController();
  const app = createApp({
    db: herald.db,
    wakeup,
    config: { ...options.api, ...(secretKey === undefined ? {} : { secretKey }) },
    secretBox: secrets,
    // `herald listen` streams lease and retry as this process's dispatcher would.
    ...(options.dispatcher ? { relay: options.dispatcher } : {}),
    shutdown: shutdown.signal,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(dispatcher ? { metrics: () => dispatcher.metrics.render(herald.db) } : {}),
    ...(options.metricsAccess === undefined ? {} : { metricsAccess: options.metricsAccess }),
    ...(options.portalDir ? { portalDir: options.portalDir } : {}),
  });
  if (dispatcher && options.startDispatcher !== false) await dispatcher.start();
  const servers: RunningServer[] = [];
  let closing: Promise<void> | null = null;
  return {
    herald,
    db: herald.db,
    wakeup,
    app,
    dispatcher,
    async listen(listenOptions) {
      const server = await listen(app, listenOptions);
      servers.push(server);
      return server;
    },
    close: (closeOptions = {}) =>
      (closing ??= (async () => {
        shutdown.abort();
        await Promise.all(
          servers.map((s) => s.close(closeOptions.drainMs === undefined ? {} : { forceAfterMs: closeOptions.drainMs })),
        );
        await dispatcher?.stop();
        await wakeup.close();
        if (owned) await herald.close();
      })()),
  };
}

/** Where embedded PGlite keeps the generated secret key: in its data directory, owner-only. */
export const SECRET_KEY_FILE = 'secret-key';

/**
 * The secret key when `HERALD_SECRET_KEY` is unset (production refuses to
 * start without it: see `secretKeyFromEnv`). Embedded PGlite keeps a
 * generated one in its data directory, reused at every start: the
 * directory's only process is the one that reads its records. PostgreSQL's
 * records are shared by every API process, which cannot agree on a key
 * nobody configured: each process makes its own (undefined here), and its
 * fingerprints cannot be checked by the others, so a reused key with another
 * body is told 422 only by the process that stored it (a retry of the same
 * request replays everywhere).
 */
function defaultSecretKey(herald: HeraldDb, logger: Logger | undefined): string | undefined {
  const dataDir = herald.pglite?.dataDir;
  if (dataDir !== undefined && !dataDir.startsWith('memory://')) {
    return loadOrCreateSecretKey(join(dataDir, SECRET_KEY_FILE));
  }
  if (herald.driver === 'postgres') {
    logger?.warn(
      'HERALD_SECRET_KEY is not set: this process uses a random key of its own for idempotency fingerprints, ' +
        'so another API process cannot tell a reused Idempotency-Key (422) from a retry. Set it (required in production).',
    );
  }
  return undefined;
}
