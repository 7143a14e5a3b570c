import { describeDb } from '@herald/db/testing';
import { expect, it } from 'vitest';
import { startHerald } from './harness';

describeDb('an endpoint with maxInFlight', (t) => {
  it('never has more requests in flight than its cap, and PATCH changes or clears the cap', async () => {
    const h = await startHerald(t);
    let active = 0;
    let most = 0;
    const receiver = await h.receiver(() => {
      active += 1;
      most = Math.max(most, active);
      setTimeout(() => {
        active -= 1;
      }, 150);
      return { status: 200, body: 'ok', delayMs: 150 };
    });
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: receiver.url, maxInFlight: 2 });
    expect(endpoint.maxInFlight).toBe(2);
    await Promise.all(Array.from({ length: 10 }, () => p.createUser()));
    await p.settled({ expected: 10 });
    expect(receiver.requests).toHaveLength(10);
    expect(most).toBeLessThanOrEqual(2);
    expect(most).toBeGreaterThanOrEqual(1);

    const patched = await p.call(`/v1/endpoints/${endpoint.id}`, 200, { method: 'PATCH', json: { maxInFlight: null } });
    expect(patched.maxInFlight).toBeNull();
    const refused = await p.request(`/v1/endpoints/${endpoint.id}`, { method: 'PATCH', json: { maxInFlight: 0 } });
    expect(refused.status).toBe(400);
  });
});
