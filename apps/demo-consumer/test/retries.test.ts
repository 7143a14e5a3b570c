import type { RunningServer } from '@herald/api';
import { listen } from '@herald/api';
import { createHeraldClient } from '@herald/client';
import { generateSecret } from '@herald/signing';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { ConsumerApp, ConsumerStore } from '../src';
import { createConsumerApp, openConsumerStore } from '../src';
import type { TestPlatform } from './harness';
import { deliver, newUserEmail, startPlatform, waitFor } from './harness';

const secret = generateSecret();
let platform: TestPlatform;
const running: { store: ConsumerStore; consumer: ConsumerApp; server: RunningServer }[] = [];

beforeAll(async () => {
  platform = await startPlatform();
}, 60_000);

afterEach(async () => {
  for (const { store, consumer, server } of running.splice(0)) {
    await consumer.close();
    await server.close();
    await store.close();
  }
});

afterAll(async () => {
  await platform?.close();
});

/** A consumer whose calls to the platform fail while `platformDown()` says so. */
async function startFlakyConsumer(platformDown: () => boolean, maxAttempts: number) {
  const store = await openConsumerStore('memory://');
  const heraldClient = createHeraldClient({
    baseUrl: platform.url,
    apiKey: platform.apiKey,
    fetch: async (input, init) => {
      if (platformDown()) throw new TypeError('fetch failed: connection refused');
      return fetch(input, init);
    },
  });
  const consumer = createConsumerApp({
    store,
    heraldClient,
    secrets: [secret],
    pollIntervalMs: 20,
    maxAttempts,
    retryDelayMs: () => 50,
  });
  const server = await listen(consumer.app);
  running.push({ store, consumer, server });
  return { store, url: server.url };
}

async function newUserCreatedEvent() {
  const user = await platform.client.users.create.mutate({ email: newUserEmail() });
  return { user, event: await platform.latestEvent('user.created', user.id) };
}

it('retries a follow-up while the platform is unreachable, then completes it', async () => {
  let failuresLeft = 2;
  const { store, url } = await startFlakyConsumer(() => failuresLeft-- > 0, 5);
  const { user, event } = await newUserCreatedEvent();

  expect((await deliver(url, { webhookId: event.id, body: event.body, secrets: secret })).status).toBe(200);
  const job = await waitFor(async () => {
    const row = await store.inbox.get(event.id);
    return row?.processedAt ? row : null;
  });

  expect(job).toMatchObject({ attempts: 3, lastError: null, failedAt: null });
  expect((await platform.client.users.get.query({ id: user.id })).roles).toEqual(['member']);
  const errors = (await store.timeline.list()).filter((entry) => entry.kind === 'error').map((entry) => entry.summary);
  expect(errors).toEqual([expect.stringMatching(/^attempt 1 failed/), expect.stringMatching(/^attempt 2 failed/)]);
});

it('gives up after the last attempt and records why', async () => {
  const { store, url } = await startFlakyConsumer(() => true, 2);
  const { event } = await newUserCreatedEvent();

  await deliver(url, { webhookId: event.id, body: event.body, secrets: secret });
  const job = await waitFor(async () => {
    const row = await store.inbox.get(event.id);
    return row?.failedAt ? row : null;
  });

  expect(job).toMatchObject({ attempts: 2, processedAt: null, lastError: expect.stringContaining('fetch failed') });
  const last = (await store.timeline.list()).at(-1);
  expect(last).toMatchObject({ kind: 'error', ok: false, summary: expect.stringMatching(/^gave up after 2 attempts/) });
});
