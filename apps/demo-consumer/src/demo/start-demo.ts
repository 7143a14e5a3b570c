import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ensureDemoProject } from './demo-project';
import { freePort } from './free-port';
import { startDemoPlatform } from './start-platform';

const consumerDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

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
  platformUrl: string;
  close(): Promise<void>;
}

/**
 * Platform (API + dispatcher, embedded PGlite) in this process, the consumer
 * in its own process with its own store, wired together through the API.
 */
export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  const log = options.log ?? (() => {});
  if (options.reset) rmSync(options.dataDir, { recursive: true, force: true });
  mkdirSync(options.dataDir, { recursive: true });

  const platformPort = await freePort(options.platformPort ?? 3000);
  const platform = await startDemoPlatform({ dataDir: path.join(options.dataDir, 'platform'), port: platformPort });
  let consumer: ChildProcess | null = null;
  try {
    const consumerPort = await freePort(options.consumerPort ?? 4000);
    const state = await ensureDemoProject({
      platformUrl: platform.url,
      adminToken: platform.adminToken,
      webhookUrl: `http://127.0.0.1:${consumerPort}/webhooks/herald`,
      statePath: path.join(options.dataDir, 'demo-project.json'),
    });
    const started = await spawnConsumer({
      PORT: String(consumerPort),
      HERALD_URL: platform.url,
      HERALD_API_KEY: state.apiKey,
      HERALD_WEBHOOK_SECRETS: state.secret,
      DEMO_DATA_DIR: path.join(options.dataDir, 'consumer'),
    }, log);
    consumer = started.child;
    return {
      pageUrl: started.url,
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

function spawnConsumer(env: Record<string, string>, log: (line: string) => void) {
  // node --import tsx (not the tsx CLI): signals reach the consumer itself.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: consumerDir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise<{ child: ChildProcess; url: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the demo consumer did not start within 60 s')), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the demo consumer exited with code ${code}`));
    });
    createInterface({ input: child.stderr! }).on('line', (line) => log(line));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log(line);
      const match = /\[demo-consumer\] listening on (\S+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ child, url: match[1]! });
      }
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
