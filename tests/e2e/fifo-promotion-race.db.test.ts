import type { Database } from '@herald/db';
import { executeRows, newId, newIdAt } from '@herald/db';
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
import { startHerald, succeededAttempt } from './harness';

const options = { owner: 'w', retryPolicy: defaultRetryPolicy, failureWindowMs: 60_000 };

async function insert(
  t: TestDb,
  projectId: string,
  endpointId: string,
  subject: string,
  sequence: number,
  extra: { due: string; attempts?: number },
) {
  const e = newId('event', Date.now());
  const d = newIdAt('delivery', Date.now());
  await t.db.execute(sql`insert into events (id, project_id, type, version, data, subject, sequence, created_at)
    values (${e}, ${projectId}, 'user.updated', 1, '{}'::jsonb, ${subject}, ${sequence}, now())`);
  await t.db.execute(sql`insert into deliveries (id, project_id, endpoint_id, event_id, status, attempt_count, next_attempt_at, subject, sequence)
    values (${d}, ${projectId}, ${endpointId}, ${e}, 'pending', ${extra.attempts ?? 0}, now() + ${extra.due}::interval, ${subject}, ${sequence})`);
  return d;
}

/** Another subject's backlog: a head waiting for its retry, `n` due rows behind it (clogs the endpoint). */
async function filler(t: TestDb, projectId: string, endpointId: string, n: number) {
  await insert(t, projectId, endpointId, 'usr_filler', 1, { due: '1 hour', attempts: 1 });
  const ev = Array.from({ length: n }, () => newId('event', Date.now()));
  const dv = Array.from({ length: n }, () => newIdAt('delivery', Date.now()));
  const seq = Array.from({ length: n }, (_, i) => i + 2);
  const arr = (v: (string | number)[]) => `{${v.join(',')}}`;
  await t.db.execute(sql`insert into events (id, project_id, type, version, data, subject, sequence, created_at)
    select e, ${projectId}, 'user.updated', 1, '{}'::jsonb, 'usr_filler', s, now()
    from unnest(${arr(ev)}::text[], ${arr(seq)}::bigint[]) as u(e, s)`);
  await t.db.execute(sql`insert into deliveries (id, project_id, endpoint_id, event_id, status, next_attempt_at, subject, sequence)
    select d, ${projectId}, ${endpointId}, e, 'pending', now(), 'usr_filler', s
    from unnest(${arr(dv)}::text[], ${arr(ev)}::text[], ${arr(seq)}::bigint[]) as u(d, e, s)`);
}

const state = async (db: Database, id: string) => {
  const [r] = await executeRows<{ status: string; wait_s: number }>(
    db,
    sql`select status, round(extract(epoch from next_attempt_at - now()))::int as wait_s from deliveries where id = ${id}`,
  );
  return r!;
};

/** Runs a claim in a transaction held open until `release` is called (its locks held, as while it runs). */
function heldClaim(db: Database) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let claimedSignal!: (n: number) => void;
  const claimed = new Promise<number>((r) => (claimedSignal = r));
  const done = db.transaction(async (tx) => {
    const r = await claimDue(tx as unknown as Database, { limit: 64, leaseMs: 45_000, owner: 'other' });
    claimedSignal(r.parked);
    await gate;
  });
  return { parked: claimed, release, done };
}

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
        // A (due) and R1 parked behind it by a claim (as claim-fifo.ts leaves it).
        await insert(t, p.id, endpoint.id, 'usr_s', 1, { due: '-1 second' });
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
});
