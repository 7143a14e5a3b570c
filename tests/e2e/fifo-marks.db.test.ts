import type { Database } from '@herald/db';
import { executeRows } from '@herald/db';
import type { TestDb } from '@herald/db/testing';
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
import { sql } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { claimWork, deliveryState, dueCount, fifoFiller, fifoRoundRobin, insertFifoRow } from './fifo-rows';
import { startHerald, succeededAttempt } from './harness';

const options = { owner: 'w', retryPolicy: defaultRetryPolicy, failureWindowMs: 60_000 };
const claim = (db: Database) => claimDue(db, { limit: 64, leaseMs: 45_000, owner: 'w' });

async function fifoEndpoint(t: TestDb) {
  const h = await startHerald(t, { start: false });
  const p = await h.project();
  const { endpoint } = await p.createEndpoint({ url: 'http://127.0.0.1:9/fifo', ordering: 'fifo' });
  return { projectId: p.id, endpointId: endpoint.id };
}

/** Claims and succeeds `usr_s`'s deliveries one at a time, as long as one is due, in order. */
async function sendSubject(db: Database, sequences: number[]) {
  for (const expected of sequences) {
    const [d] = (await claimDueDeliveries(db, { limit: 64, leaseMs: 45_000, owner: 'w' })).filter(
      (c) => c.event.subject === 'usr_s',
    );
    expect(d?.event.sequence).toBe(expected);
    await recordAttempt(db, d!, succeededAttempt, { ...options, startedAt: new Date() });
  }
}

/*
 * Whoever parks a FIFO row (a claim for a lease, the park job until its head's retry) marks the row
 * it waits for (`wakes_next`), so that one's end promotes it (fifo-promote.ts). A row parked behind
 * one left unmarked would wait out its park: for the park job, the head's retry, hours away.
 */
describeDb('FIFO parking marks what it parks behind', (t) => {
  it('the park job parks behind a row a claim parked: that row is marked, and the chain goes on after a manual retry of the head', async () => {
    const { projectId, endpointId } = await fifoEndpoint(t);
    const head = await insertFifoRow(t, projectId, endpointId, 'usr_s', 1, { due: '1 hour', attempts: 1 });
    const r1 = await insertFifoRow(t, projectId, endpointId, 'usr_s', 2, { due: '-1 minute' });
    await fifoFiller(t, projectId, endpointId, 1_200);
    expect((await claim(t.db)).parked).toBeGreaterThan(0);
    expect((await deliveryState(t.db, r1)).wait_s).toBeGreaterThan(30);
    // R2 arrives; the park job parks it until the head's retry.
    const r2 = await insertFifoRow(t, projectId, endpointId, 'usr_s', 3, { due: '-1 second' });
    await parkBlockedFifoFollowers(t.db, await readQueueWindow(t.db));
    expect((await deliveryState(t.db, r2)).wait_s).toBeGreaterThan(3_000);
    await requeueDelivery(t.db, { projectId, deliveryId: head });
    await sendSubject(t.db, [1, 2]);
    expect((await deliveryState(t.db, r2)).wait_s).toBeLessThanOrEqual(0);
  });

  it('a claim-parked row whose park ran out (due, unmarked) before the head was retried by hand', async () => {
    const { projectId, endpointId } = await fifoEndpoint(t);
    const head = await insertFifoRow(t, projectId, endpointId, 'usr_s', 1, { due: '1 hour', attempts: 1 });
    const r1 = await insertFifoRow(t, projectId, endpointId, 'usr_s', 2, { due: '-1 minute' });
    await fifoFiller(t, projectId, endpointId, 1_200);
    expect((await claim(t.db)).parked).toBeGreaterThan(0);
    const r2 = await insertFifoRow(t, projectId, endpointId, 'usr_s', 3, { due: '-1 second' });
    await parkBlockedFifoFollowers(t.db, await readQueueWindow(t.db));
    await t.db.execute(sql`update deliveries set next_attempt_at = now() - interval '1 second' where id = ${r1}`);
    await requeueDelivery(t.db, { projectId, deliveryId: head });
    await sendSubject(t.db, [1, 2]);
    expect((await deliveryState(t.db, r2)).wait_s).toBeLessThanOrEqual(0);
  });

  it('one backlog behind a head waiting for its retry, parked by a claim then by the park job: all of it goes after a manual retry', async () => {
    const { projectId, endpointId } = await fifoEndpoint(t);
    await fifoRoundRobin(t, projectId, endpointId, 1, 1_011, 'waiting');
    const [head] = await executeRows<{ id: string }>(
      t.db,
      sql`select id from deliveries where endpoint_id = ${endpointId} and sequence = 1`,
    );
    // The claim parks the first 1,001 behind the head; the park job the rest.
    expect((await claimDue(t.db, { limit: 1, leaseMs: 45_000, owner: 'w' })).parked).toBeGreaterThan(900);
    expect(await parkBlockedFifoFollowers(t.db, await readQueueWindow(t.db))).toBeGreaterThan(0);
    await requeueDelivery(t.db, { projectId, deliveryId: head!.id });
    let sent = 0;
    for (let round = 0; round < 2_000; round++) {
      const got = await claimDueDeliveries(t.db, { limit: 64, leaseMs: 45_000, owner: 'w' });
      if (got.length === 0) break;
      for (const d of got) await recordAttempt(t.db, d, succeededAttempt, { ...options, startedAt: new Date() });
      sent += got.length;
    }
    expect(sent).toBe(1_011);
  }, 120_000);

  it('rows parked by the park job before marks existed: a manual retry of their head sends them all, one after another', async () => {
    const { projectId, endpointId } = await fifoEndpoint(t);
    const head = await insertFifoRow(t, projectId, endpointId, 'usr_s', 1, { due: '1 hour', attempts: 1 });
    // As that park job left them: parked until the head's retry, unmarked (migration 0015's default).
    await insertFifoRow(t, projectId, endpointId, 'usr_s', 2, { due: '1 hour' });
    const r2 = await insertFifoRow(t, projectId, endpointId, 'usr_s', 3, { due: '1 hour' });
    await requeueDelivery(t.db, { projectId, deliveryId: head });
    await sendSubject(t.db, [1, 2]);
    expect((await deliveryState(t.db, r2)).wait_s).toBeLessThanOrEqual(0);
  });
});

describeDb('FIFO parking with many subjects', (t) => {
  it('behind heads in flight, claims park the backlog (each chunk behind the one before), then read only what is left', async () => {
    const { projectId, endpointId } = await fifoEndpoint(t);
    await fifoRoundRobin(t, projectId, endpointId, 100, 200, 'in_flight');
    const due = () => dueCount(t.db, endpointId);
    for (let i = 0; i < 60 && (await due()) > 1_000; i++) expect((await claim(t.db)).deliveries).toEqual([]);
    // A parked row behind which the next chunk is parked is key-share-locked, not skipped: before,
    // each chunk's first row stayed due, and the claims stopped parking with 14,700 of these 19,900 rows still due.
    expect(await due()).toBeLessThan(1_000);
  }, 120_000);

  it('a claim parking four clogged endpoints of 1,000 subjects each does work in proportion to what it reads', async () => {
    const { projectId } = await fifoEndpoint(t);
    const h = await startHerald(t, { start: false });
    for (let i = 0; i < 4; i++) {
      const p = await h.project();
      const { endpoint } = await p.createEndpoint({ url: `http://127.0.0.1:9/fifo${i}`, ordering: 'fifo' });
      await fifoRoundRobin(t, p.id, endpoint.id, 1_000, 5, 'waiting');
    }
    expect(projectId).toBeTruthy();
    await t.db.execute(sql`analyze deliveries`);
    // About 200,000 rows of plan work; matching the parked rows to what they wait for as a join
    // (to_park guessed at one row in the generic plan) was 9,200,000.
    expect(await claimWork(t.db)).toBeLessThan(1_000_000);
  }, 120_000);
});
