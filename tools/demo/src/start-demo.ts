import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ensurePortalBuilt } from '@herald/portal/ensure-built';
import { ensureDemoProject } from './demo-project';
import { freePort } from './free-port';
import { spawnApp, stopChild, waitUntilReady } from './processes';
import { startDemoPlatform } from './start-platform';

export interface DemoOptions {
  /** Everything the demo stores: platform database, consumer store, credentials. */
  dataDir: string;
  reset?: boolean;
  platformPort?: number;
  consumerPort?: number;
  log?: (line: string) => void;
}

export interface RunningDemo {
  pageUrl: string;
  /** The consumer's door to the Herald portal: each visit mints a single-use link through the API. */
  portalUrl: string;
  platformUrl: string;
  close(): Promise<void>;
}

/**
 * The platform (API + dispatcher on embedded PGlite, as `pnpm start` runs
 * it) and the consumer, each in its own process with its own store, wired
 * together through the API.
 */
export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  const log = options.log ?? (() => {});
  if (options.reset) rmSync(options.dataDir, { recursive: true, force: true });
  // The platform serves the portal from its build: made now if missing or stale.
  await ensurePortalBuilt();
  mkdirSync(options.dataDir, { recursive: true });

  const platformPort = await freePort(options.platformPort ?? 3000);
  const platform = await startDemoPlatform({
    dataDir: path.join(options.dataDir, 'platform'),
    port: platformPort,
    log,
  });
  let consumer: ChildProcess | null = null;
  try {
    const consumerPort = await freePort(options.consumerPort ?? 4000);
    const state = await ensureDemoProject({
      platformUrl: platform.url,
      adminToken: platform.adminToken,
      webhookUrl: `http://127.0.0.1:${consumerPort}/webhooks/herald`,
      statePath: path.join(options.dataDir, 'demo-project.json'),
    });
    const started = await spawnConsumer(
      {
        PORT: String(consumerPort),
        HERALD_URL: platform.url,
        HERALD_API_KEY: state.apiKey,
        HERALD_WEBHOOK_SECRETS: state.secret,
        DEMO_DATA_DIR: path.join(options.dataDir, 'consumer'),
      },
      log,
    );
    consumer = started.child;
    return {
      pageUrl: started.url,
      portalUrl: new URL('/portal', started.url).toString(),
      platformUrl: platform.url,
      async close() {
        await stopChild(consumer!);
        await platform.close();
      },
    };
  } catch (error) {
    if (consumer) await stopChild(consumer);
    await platform.close();
    throw error;
  }
}

async function spawnConsumer(env: Record<string, string>, log: (line: string) => void) {
  let url: string | null = null;
  const child = spawnApp('@herald/demo-consumer', env, (line) => {
    log(line);
    url ??= /\[demo-consumer\] listening on (\S+)/.exec(line)?.[1] ?? null;
  });
  await waitUntilReady(child, 'the demo consumer', async () => url !== null);
  return { child, url: url! };
}
