import { deliveries } from '@herald/db';
import { currentTestDriver, describeDb } from '@herald/db/testing';
import { recordEvent } from '@herald/delivery';
import { and, eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { DispatcherProcess } from './harness';
import { spawnDispatcher, startHerald, userSnapshot, waitFor } from './harness';

const EVENTS = 1_000;
const BATCH = 50;
/** The first request for every HANG_EVERY-th event never gets an answer. */
const HANG_EVERY = 25;

const SKIP_REASON = 'PostgreSQL only: two dispatcher processes cannot share one PGlite database';

if (currentTestDriver() === 'pglite') {
  // Not describeDb: no point opening a PGlite database for a test that cannot use it.
  describe('crash recovery with two dispatcher processes [pglite]', () => {
    it.skip(`skipped — ${SKIP_REASON}`, () => {});
  });
} else {
  describeDb('crash recovery with two dispatcher processes', (t) => {
    it(`delivers all ${EVENTS} events at least once when a dispatcher is SIGKILLed mid-flight and restarted`, async () => {
      const h = await startHerald(t, { start: false });
      const hangIds = new Set<string>();
      const receiver = await h.receiver((req) =>
        hangIds.has(req.webhookId) && req.nthForId === 1 ? 'hang' : { status: 200, delayMs: 10 },
      );
      const p = await h.project();
      const { endpoint } = await p.createEndpoint({ url: `${receiver.url}/crash` });

      const env = {
        DATABASE_URL: t.url!,
        HERALD_ALLOW_PRIVATE_NETWORKS: '1',
        HERALD_REQUEST_TIMEOUT: '2s',
        HERALD_LEASE: '4s',
        HERALD_POLL_INTERVAL: '250ms',
        HERALD_RETRY_SCHEDULE: '1s,1s,2s,2s,3s,5s,5s,5s',
        HERALD_DISPATCH_CONCURRENCY: '32',
        HERALD_DISPATCH_BATCH: '16',
      };
      const workerIdOf = (proc: DispatcherProcess) => /"workerId":"([^"]+)"/.exec(proc.output())?.[1];
      const a = spawnDispatcher(env);
      const b = spawnDispatcher(env);
      await Promise.all([a.ready, b.ready]);

      // The outbox fed the way the API feeds it: events recorded inside transactions,
      // a (coalesced) wakeup after each commit.
      const eventIds: string[] = [];
      const writing = (async () => {
        for (let batch = 0; batch < EVENTS / BATCH; batch++) {
          await t.db.transaction(async (tx) => {
            for (let i = 0; i < BATCH; i++) {
              const n = batch * BATCH + i;
              const recorded = await recordEvent(tx, {
                projectId: p.id,
                type: 'user.deleted',
                data: { user: user(n) },
              });
              eventIds.push(recorded.id);
              if (n % HANG_EVERY === 0) hangIds.add(recorded.id);
            }
          });
          h.wakeup.notify();
        }
      })();

      // Kill one dispatcher outright while it has deliveries in flight (events are still being written).
      // "In flight" is made certain, not left to timing: wait until it holds a delivery whose request
      // hangs (the receiver answers none for 2 s), so the kill lands with that request open.
      await receiver.waitForRequests(300, 30_000);
      const killedWorker = workerIdOf(a);
      expect(killedWorker).toBeDefined();
      await waitFor(
        async () => {
          const held = await t.db
            .select({ eventId: deliveries.eventId })
            .from(deliveries)
            .where(and(eq(deliveries.leaseOwner, killedWorker!), eq(deliveries.status, 'in_flight')));
          return held.some((row) => hangIds.has(row.eventId));
        },
        { timeoutMs: 30_000, intervalMs: 20, message: 'the dispatcher to be killed holds a hanging delivery' },
      );
      a.kill();
      const killed = await a.exited;
      expect(killed.signal).toBe('SIGKILL');
      const [orphaned] = await t.db
        .select({ n: sql<number>`count(*)::int` })
        .from(deliveries)
        .where(and(eq(deliveries.leaseOwner, killedWorker!), eq(deliveries.status, 'in_flight')));
      const receivedAtKill = receiver.requests.length;
      await writing;
      expect(eventIds).toHaveLength(EVENTS);

      // … and bring it back, as a supervisor would.
      const a2 = spawnDispatcher(env);
      await a2.ready;

      await waitFor(
        async () => {
          const [left] = await t.db
            .select({ n: sql<number>`count(*)::int` })
            .from(deliveries)
            .where(and(eq(deliveries.projectId, p.id), sql`${deliveries.status} <> 'succeeded'`));
          return Number(left!.n) === 0;
        },
        { timeoutMs: 40_000, intervalMs: 100, message: 'every delivery succeeded' },
      );

      // Graceful exits for the survivors.
      b.terminate();
      a2.terminate();
      const exits = await Promise.all([b.exited, a2.exited]);
      expect(exits.map((e) => e.code)).toEqual([0, 0]);

      const rows = await p.deliveryRows();
      expect(rows).toHaveLength(EVENTS);
      expect(rows.every((r) => r.status === 'succeeded' && r.endpointId === endpoint.id && r.leaseOwner === null)).toBe(
        true,
      );

      const known = new Set(eventIds);
      const perId = new Map<string, number>();
      for (const req of receiver.requests) {
        // A duplicate is the same message again: same webhook-id, same body.
        expect(known.has(req.webhookId)).toBe(true);
        expect(JSON.parse(req.body).id).toBe(req.webhookId);
        perId.set(req.webhookId, (perId.get(req.webhookId) ?? 0) + 1);
      }
      const lost = eventIds.filter((id) => !perId.has(id)).length;
      const duplicates = receiver.requests.length - perId.size;
      for (const id of hangIds) expect(perId.get(id)).toBeGreaterThanOrEqual(2);
      // Duplicates of one id carry identical bodies.
      const bodies = new Map<string, string>();
      for (const req of receiver.requests) {
        const first = bodies.get(req.webhookId);
        if (first === undefined) bodies.set(req.webhookId, req.body);
        else expect(req.body).toBe(first);
      }

      console.log(
        `crash test: events=${EVENTS} received=${receiver.requests.length} duplicates=${duplicates} lost=${lost}` +
          ` (killed at ${receivedAtKill} received with ${Number(orphaned!.n)} deliveries in flight)`,
      );
      expect(lost).toBe(0);
      expect(Number(orphaned!.n)).toBeGreaterThan(0);
    }, 60_000);
  });
}

const user = (n: number) => userSnapshot(`usr_crash_${n}`, `crash${n}@example.com`);
