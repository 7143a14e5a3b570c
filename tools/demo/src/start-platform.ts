import { randomBytes } from 'node:crypto';
import { spawnApp, stopChild, waitUntilReady } from './processes';

export interface DemoPlatform {
  url: string;
  adminToken: string;
  close(): Promise<void>;
}

/**
 * The Herald platform exactly as `pnpm start` runs it on embedded PGlite
 * (API and dispatcher in one process), in its own process, with private
 * networks allowed so webhooks can reach the consumer on localhost.
 */
export async function startDemoPlatform(options: {
  dataDir: string;
  port: number;
  log: (line: string) => void;
}): Promise<DemoPlatform> {
  // A fresh admin token per run: it only ever creates the demo project.
  const adminToken = randomBytes(24).toString('base64url');
  const url = `http://127.0.0.1:${options.port}`;
  const child = spawnApp(
    '@herald/api',
    {
      PORT: String(options.port),
      HOST: '127.0.0.1',
      HERALD_DATA_DIR: options.dataDir,
      HERALD_ADMIN_TOKEN: adminToken,
      HERALD_ALLOW_PRIVATE_NETWORKS: '1',
      HERALD_RATE_LIMIT_REQUESTS: '1000',
      // Short retries, so a restarted consumer catches up while you watch.
      HERALD_RETRY_SCHEDULE: '1s,2s,5s,10s,30s,1m',
      HERALD_LOG_LEVEL: 'warn',
    },
    options.log,
  );
  try {
    await waitUntilReady(child, 'the Herald API', async () => (await fetch(`${url}/readyz`)).ok);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return { url, adminToken, close: () => stopChild(child) };
}
