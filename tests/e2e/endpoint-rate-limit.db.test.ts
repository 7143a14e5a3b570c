import type { Database, HeraldDb } from '@herald/db';
import { createDb } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { recordEvent } from '@herald/delivery';
import { expect, it, onTestFinished } from 'vitest';
import type { ReceivedRequest } from './harness';
import { startHerald, userSnapshot } from './harness';

/*
 * A rate limit per endpoint holds across dispatchers (its token bucket lives
 * on the endpoint row), and never slows the project's other endpoints.
 */

/** Embedded PGlite is one connection for everything: there the limit is set well below what it can deliver. */
const scale = (driver: string) => (driver === 'postgres' ? { EVENTS: 400, RATE: 20 } : { EVENTS: 100, RATE: 5 });

/** Requests per second between the first and the last arrival. */
function measuredRate(requests: ReceivedRequest[]): number {
  const first = requests[0]!.at;
  const last = requests[requests.length - 1]!.at;
  return (requests.length - 1) / ((last - first) / 1000);
}

const user = (i: number) => userSnapshot(`usr_rate${i}`, `rate${i}@example.com`);

/** `count` user.updated events of users `first`…, in one transaction. */
async function recordUpdates(db: Database, projectId: string, first: number, count: number) {
  await db.transaction(async (tx) => {
    for (let i = first; i < first + count; i++) {
      await recordEvent(tx, { projectId, type: 'user.updated', data: { user: user(i), changedFields: ['name'] } });
    }
  });
}

describeDb('rate limits per endpoint', (t) => {
  const { EVENTS, RATE } = scale(t.driver);
  it(`an endpoint limited to ${RATE}/s receives ${EVENTS} events at ${RATE}/s ± 10 % over two dispatchers; an unlimited one gets its ${EVENTS} at full speed`, async () => {
    const h = await startHerald(t, { dispatcher: { concurrency: 32, batchSize: 16 } });
    // The second dispatcher has its own pool on PostgreSQL, like another process.
    const other: HeraldDb | null = t.driver === 'postgres' ? await createDb({ url: t.url!, migrate: false }) : null;
    const second = h.addDispatcher({ db: other?.db ?? t.db, config: { concurrency: 32, batchSize: 16 } });
    onTestFinished(async () => {
      await second.stop();
      await other?.close();
    });
    await second.start();

    const limitedReceiver = await h.receiver();
    const freeReceiver = await h.receiver();
    const p = await h.project();
    const limited = await p.createEndpoint({ url: `${limitedReceiver.url}/limited`, rateLimit: RATE });
    expect(limited.endpoint).toMatchObject({ rateLimit: RATE });
    await p.createEndpoint({ url: `${freeReceiver.url}/free` });

    for (let batch = 0; batch < EVENTS / 50; batch++) {
      await recordUpdates(t.db, p.id, batch * 50, 50);
      h.wakeup.notify();
    }
    await freeReceiver.waitForRequests(EVENTS, 20_000);
    // The unlimited endpoint was done long before the limited one was halfway through.
    expect(limitedReceiver.requests.length).toBeLessThan(EVENTS / 2);

    await limitedReceiver.waitForRequests(EVENTS, 60_000);
    await p.settled({ expected: EVENTS * 2, timeoutMs: 10_000 });
    const rate = measuredRate(limitedReceiver.requests);
    console.log(`[rate limit] ${EVENTS} deliveries at ${rate.toFixed(2)}/s (limit ${RATE}/s) over two dispatchers`);
    expect(rate).toBeGreaterThan(RATE * 0.9);
    expect(rate).toBeLessThan(RATE * 1.1);
    expect(new Set(limitedReceiver.requests.map((r) => r.webhookId)).size).toBe(EVENTS);
  }, 120_000);

  it('keeps its rate while another project holds its share of the slots with a backlog waiting behind it', async () => {
    const h = await startHerald(t, {
      dispatcher: { concurrency: 16, prefetch: 16, requestTimeoutMs: 5_000, leaseMs: 15_000 },
    });
    const hanging = await h.receiver(() => 'hang');
    const limitedReceiver = await h.receiver();
    const busy = await h.project();
    await busy.createEndpoint({ url: `${hanging.url}/busy`, maxInFlight: 100 });
    await recordUpdates(t.db, busy.id, 0, 60);
    h.wakeup.notify();
    // The busy project sends on all but the newcomers' eighth, with more claimed and waiting.
    await hanging.waitForRequests(14, 10_000);

    const p = await h.project();
    await p.createEndpoint({ url: `${limitedReceiver.url}/limited`, rateLimit: 5 });
    await recordUpdates(t.db, p.id, 100, 15);
    h.wakeup.notify();
    // At 5/s, 15 arrive in about 2 s (the first 5 at once: one second of burst). Before, the busy
    // project's waiting deliveries left the claim no slot to spend tokens on: about 2 a second.
    await limitedReceiver.waitForRequests(15, 6_000);
    expect(measuredRate(limitedReceiver.requests)).toBeLessThan(5 * 1.5);
  }, 30_000);

  it('the rate limit can be changed and removed through the API', async () => {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: 'http://127.0.0.1:9/x', rateLimit: 5 });
    const changed = await p.call(`/v1/endpoints/${endpoint.id}`, 200, { method: 'PATCH', json: { rateLimit: 50 } });
    expect(changed).toMatchObject({ rateLimit: 50 });
    const removed = await p.call(`/v1/endpoints/${endpoint.id}`, 200, { method: 'PATCH', json: { rateLimit: null } });
    expect(removed).toMatchObject({ rateLimit: null });
    for (const bad of [0, -1, 1.5, 100_001, '10']) {
      const response = await p.request(`/v1/endpoints/${endpoint.id}`, { method: 'PATCH', json: { rateLimit: bad } });
      expect(response.status).toBe(400);
    }
  });
});
