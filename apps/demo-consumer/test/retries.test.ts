import type { RunningServer } from '@herald/api';
import { listen } from '@herald/api';
import { createHeraldClient } from '@herald/client';
import { generateSecret } from '@herald/signing';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { ConsumerApp, ConsumerStore } from '../src';
import { createConsumerApp, openConsumerStore } from '../src';
import type { PlatformEventType, TestPlatform } from './harness';
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

/** The platform's latest event of a type for the user, stamped as the sequence-th event of its subject. */
async function sequencedEvent(type: PlatformEventType, userId: string, sequence: number) {
  const event = await platform.latestEvent(type, userId);
  return { id: event.id, body: JSON.stringify({ ...JSON.parse(event.body), subject: userId, sequence }) };
}

it("holds a user's later events behind their retried one, while other users' events go on", async () => {
  let platformDown = true;
  const { store, url } = await startFlakyConsumer(() => platformDown, 1000);
  const [first, second] = await Promise.all(
    [0, 1].map(async () => {
      const user = await platform.client.users.create.mutate({ email: newUserEmail() });
      await platform.client.users.update.mutate({ id: user.id, roles: ['admin'] });
      return user;
    }),
  );
  const created = await sequencedEvent('user.created', first!.id, 1);
  const updated = await sequencedEvent('user.updated', first!.id, 2);
  const otherUser = await sequencedEvent('user.updated', second!.id, 2);
  const processed = (webhookId: string) =>
    waitFor(async () => {
      const row = await store.inbox.get(webhookId);
      return row?.processedAt ? row : null;
    });

  // user.created needs the API, which is down: it fails and waits for its retry.
  await deliver(url, { webhookId: created.id, body: created.body, secrets: secret });
  await waitFor(async () => (await store.inbox.get(created.id))?.lastError);
  // The same user's next event (no API call) arrives meanwhile, then another user's.
  await deliver(url, { webhookId: updated.id, body: updated.body, secrets: secret });
  await deliver(url, { webhookId: otherUser.id, body: otherUser.body, secrets: secret });

  // The other user's event goes on; the first user's waits behind the retry.
  await processed(otherUser.id);
  expect(await store.inbox.get(updated.id)).toMatchObject({ processedAt: null, attempts: 0 });
  expect(await store.inbox.get(created.id)).toMatchObject({ processedAt: null });

  platformDown = false;
  const createdDone = await processed(created.id);
  const updatedDone = await processed(updated.id);
  expect(updatedDone.processedAt!.getTime()).toBeGreaterThanOrEqual(createdDone.processedAt!.getTime());
  expect((await platform.client.users.get.query({ id: first!.id })).roles).toEqual(['admin', 'member']);
  const results = (await store.timeline.list({ limit: 5000 }))
    .filter((entry) => entry.kind === 'result' && (entry.webhookId === created.id || entry.webhookId === updated.id))
    .map((entry) => [entry.webhookId, entry.summary]);
  expect(results).toEqual([
    [created.id, 'role member assigned'],
    [updated.id, expect.stringMatching(/^local copy updated/)],
  ]);
}, 30_000);
