import { describeDb } from '@herald/db/testing';
import { expect, it } from 'vitest';
import { startHerald } from './harness';

/**
 * Claimed ahead of the free slots (`prefetch`), a delivery waits in the dispatcher for a slot; one
 * that waited so long that a request might outlast its lease is dropped unsent, comes due when the
 * lease runs out, and is then delivered: once, never twice.
 */
describeDb('deliveries claimed ahead of a free slot', (t) => {
  it('are sent as slots free, and one that waited too long is left to its lease and sent once later', async () => {
    // One slot and a receiver taking 300 ms: the first claim takes five deliveries, four of them wait.
    // (lease 1,600 - timeout 1,000) / 2: a delivery not started within 300 ms of its claim is dropped.
    const h = await startHerald(t, {
      dispatcher: { concurrency: 1, prefetch: 8, batchSize: 8, requestTimeoutMs: 1_000, leaseMs: 1_600 },
    });
    const receiver = await h.receiver(() => ({ status: 200, body: 'ok', delayMs: 300 }));
    const p = await h.project();
    await p.createEndpoint({ url: receiver.url });
    for (let i = 0; i < 5; i++) await p.createUser();
    const rows = await p.settled({ expected: 5, timeoutMs: 20_000 });
    expect(rows.every((r) => r.status === 'succeeded' && r.attemptCount === 1)).toBe(true);
    const perId = new Map<string, number>();
    for (const r of receiver.requests) perId.set(r.webhookId, (perId.get(r.webhookId) ?? 0) + 1);
    expect(perId.size).toBe(5);
    expect([...perId.values()].every((n) => n === 1)).toBe(true);
    expect(h.dispatcher.metrics.outcomeCount('lease_expired_waiting')).toBeGreaterThan(0);
    expect(h.dispatcher.metrics.outcomeCount('lease_lost')).toBe(0);
  });
});
