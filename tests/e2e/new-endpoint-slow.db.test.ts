import { endpoints } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { eq } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { sleep, startHerald, waitFor } from './harness';

/**
 * An endpoint that has not answered yet counts as slow (a few deliveries in flight) until it
 * does: a new endpoint that hangs holds that many slots, not its project's every one, and the
 * project's other endpoints go on.
 */
describeDb('a new endpoint, before its first answer', (t) => {
  it('that hangs holds a slow endpoint’s slots, and its project’s healthy endpoint is delivered meanwhile', async () => {
    const h = await startHerald(t, {
      dispatcher: { concurrency: 16, requestTimeoutMs: 3_000, leaseMs: 12_000, endpointMaxInFlight: 4 },
    });
    const hanging = await h.receiver(() => 'hang');
    const healthy = await h.receiver(() => ({ status: 200, body: 'ok' }));
    const p = await h.project();
    await p.createEndpoint({ url: hanging.url });
    await p.createEndpoint({ url: healthy.url });
    for (let i = 0; i < 30; i++) await p.createUser();
    await healthy.waitForRequests(30, 6_000);
    await sleep(300);
    expect(hanging.requests.length).toBeLessThanOrEqual(4);
    expect(hanging.requests.length).toBeGreaterThan(0);
  });

  it('given a new URL, an endpoint counts as new again: its answer times are forgotten', async () => {
    const h = await startHerald(t);
    const first = await h.receiver(() => ({ status: 200, body: 'ok' }));
    const second = await h.receiver(() => ({ status: 200, body: 'ok' }));
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: first.url });
    await p.createUser();
    await p.settled({ expected: 1 });
    const latency = async () =>
      (await t.db.select({ ms: endpoints.latencyMs }).from(endpoints).where(eq(endpoints.id, endpoint.id)))[0]!.ms;
    expect(await latency()).not.toBeNull();
    await p.call(`/v1/endpoints/${endpoint.id}`, 200, {
      method: 'PATCH',
      json: { url: first.url, description: 'same' },
    });
    expect(await latency()).not.toBeNull();
    await p.call(`/v1/endpoints/${endpoint.id}`, 200, { method: 'PATCH', json: { url: second.url } });
    expect(await latency()).toBeNull();
  });

  it('given a new URL, an endpoint forgets the old receiver’s failures: its first failure there does not disable it', async () => {
    const h = await startHerald(t, {
      dispatcher: {
        failureWindowMs: 60_000,
        retryPolicy: { delaysMs: [60_000], jitter: 0, minRetryAfterMs: 0, maxRetryAfterMs: 0 },
      },
    });
    const failing = await h.receiver(() => ({ status: 500 }));
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: 'http://127.0.0.1:9/old' });
    // The old receiver failed for longer than the window, and hung three times in a row, then the
    // project went quiet (nothing sent there since, so it was never disabled).
    await t.db
      .update(endpoints)
      .set({ failingSince: new Date(Date.now() - 2 * 60_000), timeoutsInRow: 3 })
      .where(eq(endpoints.id, endpoint.id));
    await p.call(`/v1/endpoints/${endpoint.id}`, 200, { method: 'PATCH', json: { url: failing.url } });
    const [row] = await t.db
      .select({ failingSince: endpoints.failingSince, timeoutsInRow: endpoints.timeoutsInRow })
      .from(endpoints)
      .where(eq(endpoints.id, endpoint.id));
    expect(row).toEqual({ failingSince: null, timeoutsInRow: 0 });
    await p.createUser();
    await failing.waitForRequests(1, 5_000);
    await waitFor(async () => (await p.deliveryRows())[0]?.attemptCount === 1);
    await sleep(200);
    expect(await p.call(`/v1/endpoints/${endpoint.id}`, 200)).toMatchObject({ disabled: false });
    expect((await p.deliveryRows())[0]?.status).toBe('pending');
  });
});
