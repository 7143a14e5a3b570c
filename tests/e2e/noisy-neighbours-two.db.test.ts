import { describeDb } from '@herald/db/testing';
import { recordEvent } from '@herald/delivery';
import { exampleEvent } from '@herald/events';
import { expect, it } from 'vitest';
import { sleep, startHerald, waitFor } from './harness';

/**
 * Two noisy tenants at once. A and C each have 20 endpoints that never answer, with a delivery due
 * to each. A project alone may hold all but an eighth of the slots, and half of them while another
 * waits: with that cap alone, two noisy projects held every slot (and every claim's room), and B's
 * webhook waited for their requests to time out. Now projects past their newcomer quota leave the
 * newcomers' eighth alone: B's webhook must arrive before any of A's or C's requests times out.
 */
const HANGING = 20;
const TIMEOUT_MS = 4_000;

describeDb('two noisy neighbours', (t) => {
  it("A's and C's hanging endpoints leave B a slot: B's webhook arrives before their requests time out", async () => {
    const h = await startHerald(t, {
      start: false,
      dispatcher: {
        // 16 slots: 14 for a project alone, 2 kept for newcomers (one each).
        concurrency: 16,
        prefetch: 16,
        batchSize: 16,
        requestTimeoutMs: TIMEOUT_MS,
        leaseMs: 30_000,
        retryPolicy: { delaysMs: [60_000], jitter: 0, minRetryAfterMs: 1000, maxRetryAfterMs: 60_000 },
      },
    });
    const hanging = await h.receiver(() => 'hang');
    const fast = await h.receiver(() => ({ status: 200, body: 'ok' }));
    for (const noisy of [await h.project(), await h.project()]) {
      for (let i = 0; i < HANGING; i++) await noisy.createEndpoint({ url: `${hanging.url}/${noisy.id}/${i}` });
      await t.db.transaction(async (tx) => {
        await recordEvent(tx, { projectId: noisy.id, type: 'user.created', data: exampleEvent('user.created').data });
      });
    }
    await h.dispatcher.start();
    await waitFor(() => hanging.requests.length >= 14, { message: 'A and C hold slots' });
    await sleep(200);
    const holding = hanging.requests.length;

    const b = await h.project();
    await b.createEndpoint({ url: fast.url });
    const started = Date.now();
    await b.createUser();
    await fast.waitForRequests(1, TIMEOUT_MS - 500);
    const waitedMs = Date.now() - started;
    console.log(`[two noisy neighbours] ${holding} hanging requests held; B's webhook after ${waitedMs} ms`);
    // None of A's or C's requests has timed out yet: B got a slot the noisy ones could not take.
    expect(waitedMs).toBeLessThan(TIMEOUT_MS - 500);
    expect(holding).toBeLessThan(16);
  }, 30_000);
});
