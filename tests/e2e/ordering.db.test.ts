import type { HeraldDb } from '@herald/db';
import { createDb, deliveries } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { claimDueDeliveries, defaultRetryPolicy, recordAttempt, recordEvent } from '@herald/delivery';
import { eq } from 'drizzle-orm';
import { expect, it, onTestFinished } from 'vitest';
import type { ReceivedRequest } from './harness';
import { spawnDispatcher, startHerald, succeededAttempt, userSnapshot, waitFor } from './harness';

/*
 * FIFO endpoints: one subject's deliveries go out one at a time, in the
 * order of its sequence numbers, while other subjects (and other endpoints)
 * go on. Checked at a real receiver that fails first attempts at random.
 */

const SUBJECTS = 50;
const PER_SUBJECT = 12;
const TOTAL = SUBJECTS * PER_SUBJECT;

const user = (i: number) => userSnapshot(`usr_fifo${i}`, `fifo${i}@example.com`);

/** Each subject's sequence numbers in the order requests for them arrived (retries included). */
function arrivalsBySubject(requests: ReceivedRequest[]): Map<string, number[]> {
  const bySubject = new Map<string, number[]>();
  for (const r of requests) {
    const body = JSON.parse(r.body) as { subject: string; sequence: number };
    const seen = bySubject.get(body.subject) ?? [];
    seen.push(body.sequence);
    bySubject.set(body.subject, seen);
  }
  return bySubject;
}

/** Every subject's first arrivals are 1..PER_SUBJECT in order, and no later sequence ever came before an earlier one. */
function expectInSequenceOrder(requests: ReceivedRequest[]) {
  const bySubject = arrivalsBySubject(requests);
  expect(bySubject.size).toBe(SUBJECTS);
  const outOfOrder: string[] = [];
  for (const [subject, sequences] of bySubject) {
    for (let i = 1; i < sequences.length; i++) {
      // A retry repeats a sequence; going back to an earlier one means a later one overtook it.
      if (sequences[i]! < sequences[i - 1]!) outOfOrder.push(`${subject}: ${sequences.join(',')}`);
    }
    expect([...new Set(sequences)]).toEqual(Array.from({ length: PER_SUBJECT }, (_, k) => k + 1));
  }
  expect(outOfOrder).toEqual([]);
}

/** Writes PER_SUBJECT `user.updated` events for each subject, subjects interleaved, 50 per transaction. */
async function writeEvents(t: { db: HeraldDb['db'] }, projectId: string, notify: () => void) {
  for (let round = 0; round < PER_SUBJECT; round++) {
    await t.db.transaction(async (tx) => {
      for (let s = 0; s < SUBJECTS; s++) {
        await recordEvent(tx, { projectId, type: 'user.updated', data: { user: user(s), changedFields: ['name'] } });
      }
    });
    notify();
  }
}

/** Fails about 30 % of first attempts (500), answers the rest at once. */
const flaky = (req: ReceivedRequest) => (req.nthForId === 1 && Math.random() < 0.3 ? { status: 500 } : { status: 200 });

describeDb('FIFO endpoints', (t) => {
  it(`${SUBJECTS} subjects × ${PER_SUBJECT} events arrive in each subject's sequence order at a FIFO endpoint that fails 30 % of first attempts, while a plain endpoint gets them concurrently`, async () => {
    const h = await startHerald(t, { dispatcher: { concurrency: 32, batchSize: 16 } });
    const fifoReceiver = await h.receiver(flaky);
    const plainReceiver = await h.receiver(() => ({ status: 200, delayMs: 2 }));
    const p = await h.project();
    const fifo = await p.createEndpoint({ url: `${fifoReceiver.url}/fifo`, ordering: 'fifo' });
    expect(fifo.endpoint).toMatchObject({ ordering: 'fifo' });
    const plain = await p.createEndpoint({ url: `${plainReceiver.url}/plain` });
    expect(plain.endpoint).toMatchObject({ ordering: 'none' });

    await writeEvents(t, p.id, () => h.wakeup.notify());
    await p.settled({ expected: TOTAL * 2, timeoutMs: 240_000 });

    expectInSequenceOrder(fifoReceiver.requests);
    expect(fifoReceiver.requests.length).toBeGreaterThan(TOTAL); // the flaky receiver made retries happen
    // The plain endpoint got every event once, and not in subject order throughout:
    // without FIFO nothing waits for an earlier delivery of its subject.
    expect(new Set(plainReceiver.requests.map((r) => r.webhookId)).size).toBe(TOTAL);
  }, 300_000);

  it('a delivery waiting for its retry holds back later events of its subject only', async () => {
    const h = await startHerald(t, {
      dispatcher: {
        retryPolicy: { delaysMs: [1_500, 50], jitter: 0, minRetryAfterMs: 50, maxRetryAfterMs: 10_000 },
      },
    });
    const stuck = user(1);
    const receiver = await h.receiver((req) => {
      const body = JSON.parse(req.body) as { subject: string; sequence: number };
      return body.subject === stuck.id && body.sequence === 1 && req.nthForId === 1 ? { status: 503 } : { status: 200 };
    });
    const p = await h.project();
    await p.createEndpoint({ url: receiver.url, ordering: 'fifo' });
    for (let i = 0; i < 3; i++) {
      await t.db.transaction(async (tx) => {
        await recordEvent(tx, {
          projectId: p.id,
          type: 'user.updated',
          data: { user: stuck, changedFields: ['name'] },
        });
        await recordEvent(tx, {
          projectId: p.id,
          type: 'user.updated',
          data: { user: user(2), changedFields: ['name'] },
        });
      });
      h.wakeup.notify();
    }
    // The other subject's three arrive while the first subject waits for its retry.
    await waitFor(() => arrivalsBySubject(receiver.requests).get(user(2).id)?.length === 3, { timeoutMs: 5_000 });
    expect(arrivalsBySubject(receiver.requests).get(stuck.id)).toEqual([1]);
    await p.settled({ expected: 6, timeoutMs: 15_000 });
    expect(arrivalsBySubject(receiver.requests).get(stuck.id)).toEqual([1, 1, 2, 3]);
  });

  it('a retried earlier delivery waits while a later one of its subject is being sent; an expired lease holds nothing', async () => {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    await p.createEndpoint({ url: 'http://127.0.0.1:9/never-sent', ordering: 'fifo' });
    await t.db.transaction(async (tx) => {
      for (let i = 0; i < 2; i++) {
        await recordEvent(tx, {
          projectId: p.id,
          type: 'user.updated',
          data: { user: user(9), changedFields: ['name'] },
        });
      }
    });
    const claim = () => claimDueDeliveries(t.db, { limit: 10, leaseMs: 60_000, owner: 'fifo-worker' });
    const [first] = await claim();
    expect(first!.event.sequence).toBe(1);
    // Its success promotes the second, which the claim found blocked and parked.
    await recordAttempt(t.db, first!, succeededAttempt, {
      owner: 'fifo-worker',
      retryPolicy: defaultRetryPolicy,
      failureWindowMs: 60_000,
      startedAt: new Date(),
    });
    const [second] = await claim();
    expect(second!.event.sequence).toBe(2);

    // The first is sent again by hand while the second is in flight: it waits for it.
    await p.call(`/v1/deliveries/${first!.id}/retry`, 202, { method: 'POST' });
    expect(await claim()).toEqual([]);
    // The second's lease ran out (its dispatcher died): the first goes, then the second after it.
    await t.db
      .update(deliveries)
      .set({ nextAttemptAt: new Date(Date.now() - 1_000) })
      .where(eq(deliveries.id, second!.id));
    expect((await claim()).map((d) => d.event.sequence)).toEqual([1]);
  });

  it('a delivery that fails for good lets the next one of its subject go', async () => {
    const h = await startHerald(t, {
      dispatcher: { retryPolicy: { delaysMs: [50], jitter: 0, minRetryAfterMs: 50, maxRetryAfterMs: 1_000 } },
    });
    const receiver = await h.receiver((req) => {
      const body = JSON.parse(req.body) as { sequence: number };
      return body.sequence === 1 ? { status: 500 } : { status: 200 };
    });
    const p = await h.project();
    await p.createEndpoint({ url: receiver.url, ordering: 'fifo' });
    await t.db.transaction(async (tx) => {
      for (let i = 0; i < 3; i++)
        await recordEvent(tx, {
          projectId: p.id,
          type: 'user.updated',
          data: { user: user(7), changedFields: ['name'] },
        });
    });
    h.wakeup.notify();
    const rows = await p.settled({ expected: 3, timeoutMs: 15_000 });
    expect(rows.map((r) => r.status).sort()).toEqual(['failed', 'succeeded', 'succeeded']);
    expect(receiver.requests.map((r) => (JSON.parse(r.body) as { sequence: number }).sequence)).toEqual([1, 1, 2, 3]);
  });

  it.runIf(t.driver === 'postgres')(
    'two dispatcher processes and a SIGKILL of one mid-run keep every subject in order',
    async () => {
      const h = await startHerald(t, { start: false });
      const receiver = await h.receiver((req) => ({ ...flaky(req), delayMs: 5 }));
      const p = await h.project();
      await p.createEndpoint({ url: receiver.url, ordering: 'fifo' });
      const env = {
        DATABASE_URL: t.url!,
        HERALD_ALLOW_PRIVATE_NETWORKS: '1',
        HERALD_REQUEST_TIMEOUT: '2s',
        HERALD_LEASE: '3s',
        HERALD_POLL_INTERVAL: '100ms',
        HERALD_RETRY_SCHEDULE: '100ms,100ms,200ms,500ms,1s,1s,1s,1s',
        HERALD_DISPATCH_CONCURRENCY: '16',
        HERALD_DISPATCH_BATCH: '8',
      };
      const a = spawnDispatcher(env);
      const b = spawnDispatcher(env);
      await Promise.all([a.ready, b.ready]);
      const other: HeraldDb = await createDb({ url: t.url!, migrate: false });
      onTestFinished(() => other.close());

      const writing = writeEvents({ db: other.db }, p.id, () => h.wakeup.notify());
      await receiver.waitForRequests(200, 60_000);
      a.kill();
      await a.exited;
      await writing;
      await p.settled({ expected: TOTAL, timeoutMs: 120_000 });
      // A killed dispatcher may have sent a delivery whose outcome it never wrote: that
      // delivery is sent again after its lease, before anything later of its subject.
      expectInSequenceOrder(receiver.requests);
    },
    180_000,
  );
});
