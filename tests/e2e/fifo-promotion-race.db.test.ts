import { describeDb } from '@herald/db/testing';
import {
  claimDue,
  claimDueDeliveries,
  defaultRetryPolicy,
  parkBlockedFifoFollowers,
  readQueueWindow,
  recordAttempt,
  requeueDelivery,
} from '@herald/delivery';
import { expect, it } from 'vitest';
import { fifoFiller as filler, heldClaim, insertFifoRow as insert, deliveryState as state } from './fifo-rows';
import { startHerald, succeededAttempt } from './harness';

const options = { owner: 'w', retryPolicy: defaultRetryPolicy, failureWindowMs: 60_000 };

/*
 * A parked FIFO delivery is made due again when the one before it ends (fifo-promote.ts), even
 * while a claim holds it as the row another one waits for (parking that one): the claim's
 * key-share lock must not make the promotion skip it (it did with FOR SHARE: the subject waited a
 * whole lease, or its head's old retry time). PostgreSQL only: the claim is held open in a
 * transaction of its own (PGlite has one connection).
 */
describeDb('FIFO promotion while a claim parks behind the promoted row', (t) => {
  for (const concurrent of [false, true]) {
    it.skipIf(t.driver !== 'postgres')(
      `a claim-parked row, its predecessor ending ${concurrent ? 'while a claim parks the row behind it' : 'alone'}`,
      async () => {
        const h = await startHerald(t, { start: false });
        const p = await h.project();
        const { endpoint } = await p.createEndpoint({ url: 'http://127.0.0.1:9/fifo', ordering: 'fifo' });
        // A (due) and R1 parked behind it by a claim (as claim-fifo.ts leaves them: A marked).
        await insert(t, p.id, endpoint.id, 'usr_s', 1, { due: '-1 second', wakesNext: true });
        const r1 = await insert(t, p.id, endpoint.id, 'usr_s', 2, { due: '45 seconds' });
        const [a] = await claimDueDeliveries(t.db, { limit: 64, leaseMs: 45_000, owner: 'w' });
        expect(a!.event.sequence).toBe(1);
        // R2 arrives (due) while the endpoint is clogged by another subject's backlog.
        await insert(t, p.id, endpoint.id, 'usr_s', 3, { due: '-1 minute' });
        await filler(t, p.id, endpoint.id, 1_200);
        const claim = concurrent ? heldClaim(t.db) : undefined;
        // The claim has parked the row behind R1 (R1 is what it waits for), and holds its locks.
        if (claim) expect(await claim.parked).toBeGreaterThan(0);
        await recordAttempt(t.db, a!, succeededAttempt, { ...options, startedAt: new Date() });
        claim?.release();
        await claim?.done;
        expect((await state(t.db, r1)).wait_s).toBeLessThanOrEqual(0);
        const next = (await claimDueDeliveries(t.db, { limit: 64, leaseMs: 45_000, owner: 'w' })).filter(
          (d) => d.event.subject === 'usr_s',
        );
        expect(next.map((d) => d.event.sequence)).toEqual([2]);
      },
    );
  }

  it.skipIf(t.driver !== 'postgres')(
    'a row parked until its head’s retry (1 h): the head retried by hand and ending while a claim parks behind the row',
    async () => {
      const h = await startHerald(t, { start: false });
      const p = await h.project();
      const { endpoint } = await p.createEndpoint({ url: 'http://127.0.0.1:9/fifo', ordering: 'fifo' });
      const head = await insert(t, p.id, endpoint.id, 'usr_s', 1, { due: '1 hour', attempts: 1 });
      const r1 = await insert(t, p.id, endpoint.id, 'usr_s', 2, { due: '-1 second' });
      expect(await parkBlockedFifoFollowers(t.db, await readQueueWindow(t.db))).toBe(1);
      expect((await state(t.db, r1)).wait_s).toBeGreaterThan(3_000);
      // Manual retry of the head: it goes now and promotes R1 when it ends.
      await requeueDelivery(t.db, { projectId: p.id, deliveryId: head });
      const [a] = await claimDueDeliveries(t.db, { limit: 64, leaseMs: 45_000, owner: 'w' });
      expect(a!.event.sequence).toBe(1);
      await insert(t, p.id, endpoint.id, 'usr_s', 3, { due: '-1 minute' });
      await filler(t, p.id, endpoint.id, 1_200);
      const claim = heldClaim(t.db);
      expect(await claim.parked).toBeGreaterThan(0);
      await recordAttempt(t.db, a!, succeededAttempt, { ...options, startedAt: new Date() });
      claim.release();
      await claim.done;
      expect((await state(t.db, r1)).wait_s).toBeLessThanOrEqual(0);
      const next = (await claimDueDeliveries(t.db, { limit: 64, leaseMs: 45_000, owner: 'w' })).filter(
        (d) => d.event.subject === 'usr_s',
      );
      expect(next.map((d) => d.event.sequence)).toEqual([2]);
    },
  );

  it('a row parked behind one the same claim takes: that one comes back marked, and its end promotes the row', async () => {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: 'http://127.0.0.1:9/fifo', ordering: 'fifo' });
    await filler(t, p.id, endpoint.id, 1_200); // clogs the endpoint: the claim parks
    await insert(t, p.id, endpoint.id, 'usr_s', 1, { due: '-2 minutes' });
    const r = await insert(t, p.id, endpoint.id, 'usr_s', 2, { due: '-2 minutes' });
    const { deliveries, parked } = await claimDue(t.db, { limit: 64, leaseMs: 45_000, owner: 'w' });
    expect(parked).toBeGreaterThan(0);
    const [head] = deliveries.filter((d) => d.event.subject === 'usr_s');
    expect(head?.event.sequence).toBe(1);
    expect(head?.wakesNext).toBe(true);
    expect((await state(t.db, r)).wait_s).toBeGreaterThan(30);
    await recordAttempt(t.db, head!, succeededAttempt, { ...options, startedAt: new Date() });
    expect((await state(t.db, r)).wait_s).toBeLessThanOrEqual(0);
  });

  it('a row parked behind one waiting for a delivery in flight: that one is marked where it waits, and its end promotes the row', async () => {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: 'http://127.0.0.1:9/fifo', ordering: 'fifo' });
    await insert(t, p.id, endpoint.id, 'usr_s', 1, { due: '-3 minutes' });
    const [head] = await claimDueDeliveries(t.db, { limit: 64, leaseMs: 45_000, owner: 'w' });
    expect(head?.wakesNext).toBe(false);
    const second = await insert(t, p.id, endpoint.id, 'usr_s', 2, { due: '-2 minutes' });
    const third = await insert(t, p.id, endpoint.id, 'usr_s', 3, { due: '-2 minutes' });
    await filler(t, p.id, endpoint.id, 1_200);
    // The second waits for the head in flight (not parked); the third is parked behind the second.
    expect((await claimDue(t.db, { limit: 64, leaseMs: 45_000, owner: 'w' })).parked).toBeGreaterThan(0);
    expect((await state(t.db, second)).wait_s).toBeLessThanOrEqual(0);
    expect((await state(t.db, third)).wait_s).toBeGreaterThan(30);
    await recordAttempt(t.db, head!, succeededAttempt, { ...options, startedAt: new Date() });
    const [next] = (await claimDueDeliveries(t.db, { limit: 64, leaseMs: 45_000, owner: 'w' })).filter(
      (d) => d.event.subject === 'usr_s',
    );
    expect([next?.event.sequence, next?.wakesNext]).toEqual([2, true]);
    await recordAttempt(t.db, next!, succeededAttempt, { ...options, startedAt: new Date() });
    expect((await state(t.db, third)).wait_s).toBeLessThanOrEqual(0);
  });

  it('nothing parked, nothing marked: a FIFO delivery with a follower that was not parked ends without a promotion', async () => {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: 'http://127.0.0.1:9/fifo', ordering: 'fifo' });
    await insert(t, p.id, endpoint.id, 'usr_s', 1, { due: '-1 second' });
    const r = await insert(t, p.id, endpoint.id, 'usr_s', 2, { due: '-1 second' });
    const { deliveries, parked } = await claimDue(t.db, { limit: 64, leaseMs: 45_000, owner: 'w' });
    expect(parked).toBe(0);
    expect(deliveries.map((d) => [d.event.sequence, d.wakesNext])).toEqual([[1, false]]);
    await recordAttempt(t.db, deliveries[0]!, succeededAttempt, { ...options, startedAt: new Date() });
    expect((await state(t.db, r)).wait_s).toBeLessThanOrEqual(0);
    const next = await claimDueDeliveries(t.db, { limit: 64, leaseMs: 45_000, owner: 'w' });
    expect(next.map((d) => d.event.sequence)).toEqual([2]);
  });
});
