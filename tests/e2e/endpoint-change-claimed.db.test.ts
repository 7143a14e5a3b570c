import { describeDb } from '@herald/db/testing';
import { ENDPOINT_FRESH_MS } from '@herald/delivery';
import { expect, it } from 'vitest';
import type { Project } from './harness';
import { startHerald, waitFor } from './harness';

/**
 * Deliveries claimed ahead of a free slot wait in the dispatcher (up to the prefetch deadline). A
 * change to their endpoint, or an erasure of their event's data, made meanwhile reaches them within
 * ENDPOINT_FRESH_MS: none goes to a URL changed, or an endpoint deleted, or carries a deleted user's
 * data, longer ago than that (plus a request already under way).
 */
describeDb('an endpoint changed while its deliveries wait for a slot', (t) => {
  // One slot, a receiver taking 400 ms: eight deliveries claimed at once wait up to ~3 s.
  const dispatcher = { concurrency: 1, prefetch: 8, batchSize: 8, requestTimeoutMs: 5_000, leaseMs: 15_000 };
  const SLOW_MS = 400;
  const LATEST_AFTER_CHANGE_MS = ENDPOINT_FRESH_MS + SLOW_MS + 300;
  // The change must find deliveries waiting: all eight claimed (one sending, the rest waiting for the slot).
  const allClaimed = (p: Project) =>
    waitFor(async () => {
      const rows = await p.deliveryRows();
      return rows.length === 8 && rows.every((r) => r.status !== 'pending');
    });

  it('a new URL: the waiting deliveries go to it, once each, not to the old one', async () => {
    const h = await startHerald(t, { dispatcher });
    const before = await h.receiver(() => ({ status: 200, body: 'ok', delayMs: SLOW_MS }));
    const after = await h.receiver(() => ({ status: 200, body: 'ok' }));
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: before.url });
    for (let i = 0; i < 8; i++) await p.createUser();
    await before.waitForRequests(1);
    await allClaimed(p);
    await p.call(`/v1/endpoints/${endpoint.id}`, 200, { method: 'PATCH', json: { url: after.url } });
    const changedAt = Date.now();

    const rows = await p.settled({ expected: 8, timeoutMs: 20_000 });
    expect(rows.every((r) => r.status === 'succeeded' && r.attemptCount === 1)).toBe(true);
    expect(before.requests.filter((r) => r.at > changedAt + LATEST_AFTER_CHANGE_MS)).toEqual([]);
    expect(after.requests.length).toBeGreaterThan(0);
    const ids = [...before.requests, ...after.requests].map((r) => r.webhookId);
    expect(new Set(ids).size).toBe(8);
    expect(ids).toHaveLength(8);
  });

  it("a user deleted: the waiting deliveries carry the erased data, not the user's address", async () => {
    const h = await startHerald(t, { dispatcher });
    // Slower than the other cases: eight erasures are made (each a transaction of its own) while
    // the deliveries wait, and some must still be waiting once all are done.
    const receiver = await h.receiver(() => ({ status: 200, body: 'ok', delayMs: 2 * SLOW_MS }));
    const p = await h.project();
    await p.createEndpoint({ url: receiver.url, eventTypes: ['user.created'] });
    const users: { id: string; email: string }[] = [];
    for (let i = 0; i < 8; i++) users.push(await p.createUser());
    await receiver.waitForRequests(1);
    await allClaimed(p);
    await Promise.all(users.map((user) => p.call(`/v1/users/${user.id}`, 200, { method: 'DELETE' })));
    const erasedAt = Date.now();

    const rows = await p.settled({ expected: 8, timeoutMs: 20_000 });
    expect(rows.every((r) => r.status === 'succeeded')).toBe(true);
    const late = receiver.requests.filter((r) => r.at > erasedAt + ENDPOINT_FRESH_MS + 2 * SLOW_MS + 300);
    expect(late.length).toBeGreaterThan(0);
    for (const request of late) {
      for (const user of users) expect(request.body).not.toContain(user.email);
    }
  });

  it('deleted: the waiting deliveries are not sent', async () => {
    const h = await startHerald(t, { dispatcher });
    const receiver = await h.receiver(() => ({ status: 200, body: 'ok', delayMs: SLOW_MS }));
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: receiver.url });
    for (let i = 0; i < 8; i++) await p.createUser();
    await receiver.waitForRequests(1);
    await allClaimed(p);
    await p.call(`/v1/endpoints/${endpoint.id}`, 200, { method: 'DELETE' });
    const deletedAt = Date.now();
    // Past every wait the old copies had (8 × 400 ms) and the fresh window.
    await new Promise((resolve) => setTimeout(resolve, 8 * SLOW_MS + ENDPOINT_FRESH_MS));
    expect(receiver.requests.filter((r) => r.at > deletedAt + LATEST_AFTER_CHANGE_MS)).toEqual([]);
    expect(receiver.requests.length).toBeLessThan(8);
    expect(h.dispatcher.metrics.outcomeCount('endpoint_deleted')).toBeGreaterThan(0);
  });
});
