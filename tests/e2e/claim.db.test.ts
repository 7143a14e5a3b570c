import type { Database, HeraldDb } from '@herald/db';
import { createDb, deliveries } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import type { AttemptResult } from '@herald/delivery';
import {
  claimDueDeliveries,
  defaultRetryPolicy,
  envelopeBody,
  failWithoutSending,
  recordAttempt,
  recordAttempts,
  recordEvent,
} from '@herald/delivery';
import { eq } from 'drizzle-orm';
import { expect, it, onTestFinished } from 'vitest';
import { sleep, startHerald, succeededAttempt, userSnapshot } from './harness';

const ok = succeededAttempt;
const recordOptions = (owner: string) => ({
  owner,
  retryPolicy: defaultRetryPolicy,
  failureWindowMs: 86_400_000,
  startedAt: new Date(),
});

const user = (n: number) => userSnapshot(`usr_claim_${n}`, `claim${n}@example.com`);

describeDb('claiming due deliveries (leases and SKIP LOCKED)', (t) => {
  async function queue(n: number) {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    const { endpoint, secret } = await p.createEndpoint({
      url: 'http://127.0.0.1:9/never-called',
      headers: { 'X-A': 'b' },
    });
    await t.db.transaction(async (tx) => {
      for (let i = 0; i < n; i++)
        await recordEvent(tx, { projectId: p.id, type: 'user.deleted', data: { user: user(i) } });
    });
    return { p, endpoint, secret };
  }

  it('an event fanned out to three endpoints: its deliveries in one claim share one event object and one body', async () => {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    for (let i = 0; i < 3; i++) await p.createEndpoint({ url: `http://127.0.0.1:9/fan-${i}` });
    await t.db.transaction(async (tx) => {
      await recordEvent(tx, { projectId: p.id, type: 'user.deleted', data: { user: user(50) } });
    });
    const claimed = await claimDueDeliveries(t.db, { limit: 10, leaseMs: 60_000, owner: 'w1' });
    expect(claimed).toHaveLength(3);
    expect(new Set(claimed.map((d) => d.endpoint.id)).size).toBe(3);
    expect(claimed[1]!.event).toBe(claimed[0]!.event);
    expect(claimed[2]!.event).toBe(claimed[0]!.event);
    const body = envelopeBody(claimed[0]!.event);
    expect(JSON.parse(body)).toMatchObject({
      id: claimed[0]!.event.id,
      type: 'user.deleted',
      data: { user: { id: user(50).id } },
    });
    expect(envelopeBody(claimed[2]!.event)).toBe(body);
    await t.db.update(deliveries).set({ status: 'failed', leaseOwner: null }).where(eq(deliveries.projectId, p.id));
  });

  it('hands out the event, the endpoint and its secrets with each claimed delivery', async () => {
    const { p, endpoint, secret } = await queue(1);
    const [claimed] = await claimDueDeliveries(t.db, { limit: 5, leaseMs: 60_000, owner: 'w1' });
    expect(claimed).toMatchObject({
      projectId: p.id,
      attemptCount: 0,
      scheduleOffset: 0,
      event: { type: 'user.deleted', version: 2 },
      endpoint: { id: endpoint.id, url: 'http://127.0.0.1:9/never-called', headers: { 'X-A': 'b' }, disabled: false },
      secrets: [secret],
    });
    expect(claimed!.event.createdAt).toBeInstanceOf(Date);
    // The data as stored (its jsonb text), spliced into the body unparsed.
    expect(JSON.parse(claimed!.event.dataJson!)).toEqual({ user: { id: 'usr_claim_0' } });
    expect(JSON.parse(envelopeBody(claimed!.event)).data).toEqual({ user: { id: 'usr_claim_0' } });
    await t.db.update(deliveries).set({ status: 'failed', leaseOwner: null }).where(eq(deliveries.projectId, p.id));
  });

  it('takes no more deliveries of a rate-limited endpoint than the slots free now (freeNow), and says it is rate-limited', async () => {
    const { p, endpoint } = await queue(6);
    await p.call(`/v1/endpoints/${endpoint.id}`, 200, { method: 'PATCH', json: { rateLimit: 100 } });
    const claimed = await claimDueDeliveries(t.db, { limit: 10, freeNow: 2, leaseMs: 60_000, owner: 'w1' });
    expect(claimed).toHaveLength(2);
    expect(claimed.every((d) => d.endpoint.rateLimited)).toBe(true);
    await p.call(`/v1/endpoints/${endpoint.id}`, 200, { method: 'PATCH', json: { rateLimit: null } });
    const unlimited = await claimDueDeliveries(t.db, { limit: 10, freeNow: 2, leaseMs: 60_000, owner: 'w1' });
    expect(unlimited).toHaveLength(4);
    expect(unlimited.some((d) => d.endpoint.rateLimited)).toBe(false);
    await t.db.update(deliveries).set({ status: 'failed', leaseOwner: null }).where(eq(deliveries.projectId, p.id));
  });

  it('an expired lease makes a delivery due again; the worker that lost it cannot complete it', async () => {
    const { p } = await queue(1);
    const [mine] = await claimDueDeliveries(t.db, { limit: 1, leaseMs: 1, owner: 'slow-worker' });
    expect(mine).toBeDefined();
    await sleep(20);
    const [theirs] = await claimDueDeliveries(t.db, { limit: 1, leaseMs: 60_000, owner: 'fast-worker' });
    expect(theirs?.id).toBe(mine!.id);

    // The slow worker's answer arrives late: logged, but it does not move the delivery on.
    expect(await recordAttempt(t.db, mine!, ok, recordOptions('slow-worker'))).toEqual({
      outcome: 'lease_lost',
      eventsEmitted: 0,
    });
    const [row] = await p.deliveryRows();
    expect(row).toMatchObject({ status: 'in_flight', leaseOwner: 'fast-worker', attemptCount: 0 });
    expect(await recordAttempt(t.db, theirs!, ok, recordOptions('fast-worker'))).toEqual({
      outcome: 'succeeded',
      eventsEmitted: 0,
    });
    expect((await p.deliveryRows())[0]).toMatchObject({ status: 'succeeded', leaseOwner: null, attemptCount: 1 });
    // Both are logged as attempt 1; the late one says why it did not count, and keeps its answer.
    const attempts = await p.attemptRows(row!.id);
    expect(attempts.map((a) => [a.attemptNumber, a.statusCode, a.errorClass])).toEqual(
      expect.arrayContaining([
        [1, 200, 'lease_lost'],
        [1, 200, null],
      ]),
    );
    expect(attempts).toHaveLength(2);
    expect(attempts.find((a) => a.errorClass === 'lease_lost')!.errorMessage).toMatch(/lease ran out/);
    // Done is done: nothing is due any more.
    expect(await claimDueDeliveries(t.db, { limit: 10, leaseMs: 1, owner: 'anyone' })).toEqual([]);
  });

  it('a lease that ran out and was taken again by the same worker: the old attempt cannot finish it, nor fail it unsent', async () => {
    const { p } = await queue(1);
    // The same dispatcher's outcome write was slower than its lease: its next claim takes the delivery again.
    const [first] = await claimDueDeliveries(t.db, { limit: 1, leaseMs: 1, owner: 'one-worker' });
    await sleep(20);
    const [again] = await claimDueDeliveries(t.db, { limit: 1, leaseMs: 60_000, owner: 'one-worker' });
    expect(again?.id).toBe(first!.id);
    expect(again!.lease).not.toBe(first!.lease);

    // The first attempt's answer is logged, but moves nothing: the second claim is still to be sent,
    // and for a FIFO endpoint the subject's next delivery must wait for it.
    expect(await recordAttempt(t.db, first!, ok, recordOptions('one-worker'))).toEqual({
      outcome: 'lease_lost',
      eventsEmitted: 0,
    });
    await failWithoutSending(t.db, first!, 'one-worker');
    const [row] = await p.deliveryRows();
    expect(row).toMatchObject({ status: 'in_flight', leaseOwner: 'one-worker', attemptCount: 0 });
    expect(await recordAttempt(t.db, again!, ok, recordOptions('one-worker'))).toMatchObject({ outcome: 'succeeded' });
    expect((await p.deliveryRows())[0]).toMatchObject({ status: 'succeeded', attemptCount: 1 });
    expect(await p.attemptRows(row!.id)).toHaveLength(2);
  });

  it('concurrent claimers never take the same delivery twice', async () => {
    const N = 120;
    const { p } = await queue(N);
    // On PostgreSQL every claimer has its own connection, as separate dispatchers would.
    const pools: HeraldDb[] = [];
    const dbs: Database[] = [];
    for (let i = 0; i < 6; i++) {
      if (t.driver === 'postgres') {
        const pool = await createDb({ url: t.url!, migrate: false, maxConnections: 1 });
        pools.push(pool);
        dbs.push(pool.db);
      } else dbs.push(t.db);
    }
    onTestFinished(async () => {
      await Promise.all(pools.map((pool) => pool.close()));
    });
    const taken = new Map<string, string>();
    const duplicates: string[] = [];
    await Promise.all(
      dbs.map(async (db, i) => {
        for (;;) {
          const batch = await claimDueDeliveries(db, { limit: 7, leaseMs: 60_000, owner: `claimer-${i}` });
          if (batch.length === 0) return;
          for (const d of batch) {
            if (taken.has(d.id)) duplicates.push(d.id);
            taken.set(d.id, `claimer-${i}`);
          }
        }
      }),
    );
    expect(duplicates).toEqual([]);
    expect(taken.size).toBe(N);
    const rows = await p.deliveryRows();
    expect(rows.every((r) => r.status === 'in_flight' && r.leaseOwner === taken.get(r.id))).toBe(true);
    await t.db.update(deliveries).set({ status: 'failed', leaseOwner: null }).where(eq(deliveries.projectId, p.id));
  });

  it('records a batch of mixed outcomes in one transaction, each delivery moved as its own result says', async () => {
    const { p } = await queue(4);
    const claimed = await claimDueDeliveries(t.db, { limit: 4, leaseMs: 60_000, owner: 'batcher' });
    expect(claimed).toHaveLength(4);
    const [a, b, c, d] = claimed as [
      (typeof claimed)[0],
      (typeof claimed)[0],
      (typeof claimed)[0],
      (typeof claimed)[0],
    ];
    const failed = (statusCode: number): AttemptResult => ({
      ...ok,
      ok: false,
      statusCode,
      errorClass: 'http_status',
      errorMessage: `HTTP ${statusCode}`,
    });
    // d's lease is taken over by another worker before the batch is written.
    await t.db.update(deliveries).set({ leaseOwner: 'other' }).where(eq(deliveries.id, d.id));

    const startedAt = new Date();
    const outcomes = await recordAttempts(
      t.db,
      [
        { delivery: a, result: ok, startedAt },
        { delivery: b, result: failed(500), startedAt },
        { delivery: c, result: { ...failed(429), retryAfterSeconds: 7 }, startedAt },
        { delivery: d, result: ok, startedAt },
      ],
      { owner: 'batcher', retryPolicy: defaultRetryPolicy, failureWindowMs: 86_400_000 },
    );
    expect(outcomes.map((o) => o.outcome)).toEqual(['succeeded', 'retrying', 'retrying', 'lease_lost']);

    const byId = new Map((await p.deliveryRows()).map((r) => [r.id, r]));
    expect(byId.get(a.id)).toMatchObject({
      status: 'succeeded',
      attemptCount: 1,
      leaseOwner: null,
      lastStatusCode: 200,
    });
    expect(byId.get(b.id)).toMatchObject({
      status: 'pending',
      attemptCount: 1,
      lastStatusCode: 500,
      lastError: 'http_status: HTTP 500',
    });
    expect(byId.get(d.id)).toMatchObject({ status: 'in_flight', leaseOwner: 'other', attemptCount: 0 });
    // 500: the schedule's first retry (5 s ± 20 %); 429: its Retry-After of 7 s.
    const delayOf = (id: string) => byId.get(id)!.nextAttemptAt!.getTime() - startedAt.getTime();
    expect(delayOf(b.id)).toBeGreaterThan(3_500);
    expect(delayOf(b.id)).toBeLessThan(6_500);
    expect(delayOf(c.id)).toBeGreaterThan(6_000);
    expect(delayOf(c.id)).toBeLessThan(8_500);
    // Every attempt is logged, the late one included.
    for (const delivery of claimed) expect(await p.attemptRows(delivery.id)).toHaveLength(1);
    await t.db
      .update(deliveries)
      .set({ status: 'failed', leaseOwner: null, nextAttemptAt: null })
      .where(eq(deliveries.projectId, p.id));
  });
});

describeDb('finishing a batch: one bad outcome never fails the others', (t) => {
  it('records a batch with a NUL body, a lone surrogate and a vanished delivery: the rest are finished once', async () => {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    await p.createEndpoint({ url: 'http://127.0.0.1:9/never-called' });
    await t.db.transaction(async (tx) => {
      for (let i = 0; i < 4; i++)
        await recordEvent(tx, { projectId: p.id, type: 'user.deleted', data: { user: user(100 + i) } });
    });
    const claimed = await claimDueDeliveries(t.db, { limit: 10, leaseMs: 60_000, owner: 'w1' });
    expect(claimed).toHaveLength(4);
    // One delivery disappears while in flight (its endpoint or project deleted).
    await t.db.delete(deliveries).where(eq(deliveries.id, claimed[3]!.id));
    const results: AttemptResult[] = [
      { ...ok, responseBody: 'ok\0' },
      { ...ok, ok: false, statusCode: 500, errorClass: 'http_status', errorMessage: 'bad\ud800', responseBody: '\0' },
      ok,
      ok,
    ];
    const outcomes = await recordAttempts(
      t.db,
      claimed.map((delivery, i) => ({ delivery, result: results[i]!, startedAt: new Date() })),
      recordOptions('w1'),
    );
    expect(outcomes.map((o) => o.outcome)).toEqual(['succeeded', 'retrying', 'succeeded', 'lease_lost']);
    const rows = await p.deliveryRows();
    expect(rows.map((r) => r.status).sort()).toEqual(['pending', 'succeeded', 'succeeded']);
    for (const row of rows) expect(await p.attemptRows(row.id)).toHaveLength(1);
    const [first] = await p.attemptRows(claimed[0]!.id);
    expect(first!.responseBody).toBe('ok\uFFFD');
  });
});
