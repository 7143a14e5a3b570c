import type { CreateDbOptions, Database, HeraldDb } from '@herald/db';
import { createDb } from '@herald/db';
import type { DeliveryWakeup, Dispatcher, DispatcherConfig, Resolver } from '@herald/delivery';
import { createDeliveryWakeup, createDispatcher } from '@herald/delivery';
import type { ApiConfig } from '@herald/router';
import type { Logger } from 'pino';
import { createApp } from './app';
import type { RunningServer } from './server';
import { listen } from './server';

export interface PlatformOptions {
  /** An open database (tests, the bench), or where to open one: PostgreSQL `url`, else PGlite `dataDir`. */
  database: { herald: HeraldDb } | CreateDbOptions;
  api?: Partial<ApiConfig>;
  /** The in-process dispatcher's settings; `false` runs none (it runs elsewhere). */
  dispatcher?: Partial<DispatcherConfig> | false;
  /** Start the dispatcher now (default true). */
  startDispatcher?: boolean;
  /** DNS for the dispatcher's SSRF check (tests inject one). */
  resolve?: Resolver;
  logger?: Logger;
}

export interface Platform {
  herald: HeraldDb;
  db: Database;
  wakeup: DeliveryWakeup;
  app: ReturnType<typeof createApp>;
  dispatcher: Dispatcher | null;
  /** Serves the app on a real socket; the server is closed first by `close()`. */
  listen(options?: { port?: number; hostname?: string }): Promise<RunningServer>;
  /**
   * Server, then dispatcher (in-flight deliveries finish, leases are given
   * back), then wakeup, then the database it opened.
   */
  close(): Promise<void>;
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
          ...(options.logger ? { logger: options.logger.child({ service: 'dispatcher' }) } : {}),
          ...(options.resolve ? { resolve: options.resolve } : {}),
        });
  const app = createApp({
    db: herald.db,
    wakeup,
    ...(options.api ? { config: options.api } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(dispatcher ? { metrics: () => dispatcher.metrics.render(herald.db) } : {}),
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
    close: () =>
      (closing ??= (async () => {
        await Promise.all(servers.map((s) => s.close()));
        await dispatcher?.stop();
        await wakeup.close();
        if (owned) await herald.close();
      })()),
  };
}
