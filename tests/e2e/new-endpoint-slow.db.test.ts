import { describeDb } from '@herald/db/testing';
import { expect, it } from 'vitest';
import { sleep, startHerald } from './harness';

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
});
