import { randomBytes } from 'node:crypto';
import { createApp, listen } from '@herald/api';
import { createDb, createDeliveryWakeup } from '@herald/db';
import { createDispatcher, parseRetrySchedule } from '@herald/dispatcher';

export interface DemoPlatform {
  url: string;
  adminToken: string;
  close(): Promise<void>;
}

/**
 * The Herald platform as `pnpm start` runs it on embedded PGlite: API and
 * dispatcher in one process (one process per PGlite directory), private
 * networks allowed so webhooks can reach the consumer on localhost.
 */
export async function startDemoPlatform(options: { dataDir: string; port: number }): Promise<DemoPlatform> {
  const herald = await createDb({ dataDir: options.dataDir });
  const wakeup = createDeliveryWakeup(herald);
  // A fresh admin token per run: it only ever creates the demo project.
  const adminToken = randomBytes(24).toString('base64url');
  const app = createApp({
    db: herald.db,
    wakeup,
    config: { adminToken, allowPrivateNetworks: true, rateLimit: { requests: 1000, windowSeconds: 1 } },
  });
  const dispatcher = createDispatcher({
    db: herald.db,
    wakeup,
    config: {
      allowPrivateNetworks: true,
      // Short retries, so a restarted consumer catches up while you watch.
      retryPolicy: { delaysMs: parseRetrySchedule('1s,2s,5s,10s,30s,1m'), jitter: 0.2, minRetryAfterMs: 1000, maxRetryAfterMs: 60_000 },
    },
  });
  await dispatcher.start();
  const server = await listen(app, { port: options.port });
  return {
    url: server.url,
    adminToken,
    async close() {
      await server.close();
      await dispatcher.stop();
      await wakeup.close();
      await herald.close();
    },
  };
}
