import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSecret } from '@herald/signing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openConsumerStore } from '../src';
import type { TestPlatform } from './harness';
import { deliver, newUserEmail, startPlatform, waitFor } from './harness';

const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const secret = generateSecret();
const children = new Set<ChildProcess>();
let platform: TestPlatform;
let dataDir: string;

beforeAll(async () => {
  platform = await startPlatform();
  dataDir = mkdtempSync(path.join(tmpdir(), 'demo-consumer-crash-'));
}, 60_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await platform?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

interface ConsumerProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * The consumer as its own OS process (`src/main.ts`), so a SIGKILL really
 * kills it: no shutdown hook runs, nothing is flushed. Node runs tsx as an
 * in-process loader (not the tsx CLI, which would put a second process
 * between the signal and the consumer).
 */
async function spawnConsumer(extraEnv: Record<string, string> = {}): Promise<ConsumerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: appDir,
    env: {
      ...process.env,
      PORT: '0',
      HERALD_URL: platform.url,
      HERALD_API_KEY: platform.apiKey,
      HERALD_WEBHOOK_SECRETS: `${generateSecret()},${secret}`,
      DEMO_DATA_DIR: dataDir,
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(({ code, signal }) => reject(new Error(`consumer exited early (${code ?? signal}):\n${output}`)));
  });
  return { child, url, exited };
}

async function createUserWithEvent() {
  const user = await platform.client.users.create.mutate({ email: newUserEmail(), password: 'correct horse battery' });
  return { user, event: await platform.latestEvent('user.created', user.id) };
}

it('finishes acknowledged work after a SIGKILL and a restart', async () => {
  // Run 1: acknowledges and stores, but holds the work (test hook), then dies.
  const first = await spawnConsumer({ DEMO_CRASH_AFTER_ACK: '1' });
  const held = await createUserWithEvent();
  const queued = await createUserWithEvent();
  for (const { event } of [held, queued]) {
    const response = await deliver(first.url, { webhookId: event.id, body: event.body, secrets: secret });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: true, duplicate: false });
  }
  first.child.kill('SIGKILL');
  expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
  for (const { user } of [held, queued]) {
    expect((await platform.client.users.get.query({ id: user.id })).roles).toEqual([]);
  }

  // Run 2: same data dir, no hook. It resumes the inbox on start.
  const second = await spawnConsumer();
  for (const { user } of [held, queued]) {
    await waitFor(
      async () => (await platform.client.users.get.query({ id: user.id })).roles.includes('member'),
      20_000,
    );
  }
  // A redelivery after the restart is still recognised.
  const again = await deliver(second.url, { webhookId: held.event.id, body: held.event.body, secrets: secret });
  expect(await again.json()).toEqual({ received: true, duplicate: true });

  second.child.kill('SIGTERM');
  expect(await second.exited).toEqual({ code: 0, signal: null });

  const store = await openConsumerStore(dataDir);
  try {
    // The held job was claimed by the killed run, then run again: two attempts, done once.
    expect(await store.inbox.get(held.event.id)).toMatchObject({
      attempts: 2,
      processedAt: expect.any(Date),
      failedAt: null,
    });
    expect(await store.inbox.get(queued.event.id)).toMatchObject({ attempts: 1, processedAt: expect.any(Date) });
    const results = (await store.timeline.list({ limit: 5000 })).filter((entry) => entry.kind === 'result');
    expect(results.map((entry) => entry.summary)).toEqual(['role member assigned', 'role member assigned']);
  } finally {
    await store.close();
  }
}, 120_000);
