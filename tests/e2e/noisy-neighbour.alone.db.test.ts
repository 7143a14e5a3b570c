import { currentTestDriver, describeDb } from '@herald/db/testing';
import { recordEvent } from '@herald/delivery';
import { exampleEvent } from '@herald/events';
import { expect, it } from 'vitest';
import { sleep, startHerald, waitFor } from './harness';

/**
 * The worst neighbour, made harmless. Tenant B has 200 endpoints that never
 * answer and one endpoint with 1,000 queued events that answers after 2 s;
 * tenant A's webhooks must still arrive within 250 ms (p99) of their commit,
 * on one dispatcher with the default concurrency and a 3 s request timeout.
 * PostgreSQL only: it measures latency, and PGlite shares one connection.
 */
const HANGING_ENDPOINTS = 200;
const BACKLOG = 1_000;
// Enough that p99 tolerates two outliers from a busy test machine rather than being the maximum.
const A_EVENTS = 200;

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;

describeDb('noisy neighbour', (t) => {
  it.skipIf(currentTestDriver() === 'pglite')(
    "B's 200 hanging endpoints and slow backlog leave A's webhooks on time (p99 < 250 ms from commit)",
    async () => {
      const h = await startHerald(t, {
        start: false,
        // B is an operator-raised tenant: more endpoints than the default limit of 100.
        api: { maxEndpointsPerProject: 1_000 },
        dispatcher: {
          requestTimeoutMs: 3_000,
          leaseMs: 15_000,
          concurrency: 64,
          batchSize: 32,
          pollIntervalMs: 1_000,
          retryPolicy: { delaysMs: [60_000], jitter: 0, minRetryAfterMs: 1000, maxRetryAfterMs: 60_000 },
        },
      });
      const hanging = await h.receiver(() => 'hang');
      const slow = await h.receiver(() => ({ status: 200, body: 'slow', delayMs: 2_000 }));
      const fast = await h.receiver(() => ({ status: 200, body: 'ok' }));

      const b = await h.project();
      for (let i = 0; i < HANGING_ENDPOINTS; i++) {
        await b.createEndpoint({ url: `${hanging.url}/e${i}`, eventTypes: ['user.created'] });
      }
      await b.createEndpoint({ url: slow.url, eventTypes: ['user.updated'] });
      const a = await h.project();
      await a.createEndpoint({ url: fast.url });

      // B: one user.created for each hanging endpoint, then a backlog of 1,000 user.updated.
      await t.db.transaction(async (tx) => {
        await recordEvent(tx, { projectId: b.id, type: 'user.created', data: exampleEvent('user.created').data });
        for (let i = 0; i < BACKLOG; i++) {
          await recordEvent(tx, { projectId: b.id, type: 'user.updated', data: exampleEvent('user.updated').data });
        }
      });
      await h.dispatcher.start();
      // Let B fill what it can.
      await waitFor(() => hanging.requests.length >= 10, { message: 'B holds slots' });
      await sleep(300);

      const sentAt = new Map<string, number>();
      for (let i = 0; i < A_EVENTS; i++) {
        const before = Date.now();
        const user = await a.createUser();
        sentAt.set(user.id, before);
        await sleep(15);
      }
      await fast.waitForRequests(A_EVENTS, 20_000);
      const latencies = fast.requests
        .map((r) => {
          const userId = JSON.parse(r.body).data.user.id as string;
          return r.at - sentAt.get(userId)!;
        })
        .sort((x, y) => x - y);
      const p50 = percentile(latencies, 0.5);
      const p99 = percentile(latencies, 0.99);
      const windowS = (Date.now() - Math.min(...sentAt.values())) / 1000;
      console.log(
        `[noisy neighbour] A: ${A_EVENTS} webhooks, p50 ${p50} ms, p99 ${p99} ms; ` +
          `B: ${slow.requests.length} backlog deliveries and ${hanging.requests.length} hanging requests ` +
          `in ${windowS.toFixed(1)} s (${(slow.requests.length / windowS).toFixed(1)} backlog/s)`,
      );
      // Who held the slots, as an operator sees it.
      const metrics = await (await h.app.request('/metrics')).text();
      expect(metrics).toContain(`herald_in_flight_deliveries_by_project{project="${b.id}"}`);
      expect(p99).toBeLessThan(250);
      expect(fast.requests.every((r) => r.nthForId === 1)).toBe(true);
    },
    60_000,
  );
});
