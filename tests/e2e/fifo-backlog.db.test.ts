import { newId, newIdAt } from '@herald/db';
import type { TestDb } from '@herald/db/testing';
import { describeDb } from '@herald/db/testing';
import {
  claimDue,
  claimDueDeliveries,
  defaultRetryPolicy,
  failWithoutSending,
  recordAttempt,
  requeueFailedSince,
} from '@herald/delivery';
import { sql } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { claimWork, dueCount } from './fifo-rows';
import { startHerald, succeededAttempt } from './harness';

/**
 * One FIFO subject's backlog of `backlog` deliveries, all due, numbered 1…backlog; the first
 * waits for a retry an hour away when `headWaits`. Returns the endpoint's id.
 */
async function fifoBacklog(t: TestDb, backlog: number, { headWaits }: { headWaits: boolean }) {
  const h = await startHerald(t, { start: false });
  const noisy = await h.project();
  const { endpoint } = await noisy.createEndpoint({ url: 'http://127.0.0.1:9/fifo', ordering: 'fifo' });
  const now = Date.now();
  const eventIds = Array.from({ length: backlog }, () => newId('event', now));
  const deliveryIds = Array.from({ length: backlog }, () => newIdAt('delivery', now));
  const sequences = Array.from({ length: backlog }, (_, i) => i + 1);
  const array = (values: (string | number)[]) => `{${values.join(',')}}`;
  await t.db.execute(sql`insert into events (id, project_id, type, version, data, subject, sequence, created_at)
    select e, ${noisy.id}, 'user.updated', 1, '{}'::jsonb, 'usr_hot', s, now()
    from unnest(${array(eventIds)}::text[], ${array(sequences)}::bigint[]) as u(e, s)`);
  await t.db.execute(sql`insert into deliveries (id, project_id, endpoint_id, event_id, status, next_attempt_at, subject, sequence)
    select d, ${noisy.id}, ${endpoint.id}, e, 'pending',
           case when s = 1 and ${headWaits} then now() + interval '1 hour' else now() end, 'usr_hot', s
    from unnest(${array(deliveryIds)}::text[], ${array(eventIds)}::text[], ${array(sequences)}::bigint[]) as u(d, e, s)`);
  await t.db.execute(sql`analyze deliveries`);
  return endpoint.id;
}

describeDb('a FIFO subject’s backlog and the claim', (t) => {
  it('a claim reads a blocked subject’s backlog once, not once per row for each row (every tenant’s claims wait for it)', async () => {
    const backlog = 30_000;
    await fifoBacklog(t, backlog, { headWaits: true });
    const rows = await claimWork(t.db);
    // Nothing is claimable. A claim reads its rows and FIFO_LOOKAHEAD (1,000) more at most, twice
    // when it parks them, and marks the rows they wait for, whatever the backlog: about 51,000
    // rows of plan work (41,500 before the marks). Reading each backlog row with one probe was 3
    // rows each on top (90,000 here, and growing with it); the generic plan of an EXISTS read
    // every earlier row for each row (4–7 s at 12,000).
    expect(rows).toBeLessThan(60_000);
    expect(rows).toBeGreaterThan(0);
  });

  it('claims park a backlog behind a delivery in flight, so later claims do not read it; its end sends the next', async () => {
    const backlog = 10_000;
    const endpointId = await fifoBacklog(t, backlog, { headWaits: false });
    const claim = () => claimDueDeliveries(t.db, { limit: 64, leaseMs: 60_000, owner: 'fifo-worker' });
    const due = () => dueCount(t.db, endpointId);
    // The head goes; the claims that find the rest blocked park them, a bounded number each.
    const [head, ...others] = await claim();
    expect(head!.event.sequence).toBe(1);
    expect(others).toEqual([]);
    // Each claim parks the rows it read (its own and FIFO_LOOKAHEAD more) while that many wait;
    // fewer are left due, and read again by each claim.
    for (let i = 0; i < 10 && (await due()) > 1_000; i++) expect(await claim()).toEqual([]);
    expect(await due()).toBeLessThan(1_000);
    // Before, every claim, whatever its tenant, read the whole backlog while the head was in flight
    // (three rows per backlog row: 30,000 here, 0.3–1.2 s per claim at 95,000).
    expect(await claimWork(t.db)).toBeLessThan(15_000);

    // The head succeeds: the next of its subject is due at once, and the chain goes on in order.
    const options = { owner: 'fifo-worker', retryPolicy: defaultRetryPolicy, failureWindowMs: 60_000 };
    await recordAttempt(t.db, head!, succeededAttempt, { ...options, startedAt: new Date() });
    const [second] = await claim();
    expect(second!.event.sequence).toBe(2);
    await recordAttempt(t.db, second!, succeededAttempt, { ...options, startedAt: new Date() });
    const [third] = await claim();
    expect(third!.event.sequence).toBe(3);
    // Failed unsent (its endpoint was disabled, its payload expired): the next goes too.
    await failWithoutSending(t.db, third!, 'fifo-worker', 'payload_expired');
    expect((await claim()).map((d) => d.event.sequence)).toEqual([4]);
  });

  it('rows that must wait but cannot be parked do not stop an endpoint: the claim looks past them', async () => {
    // A recovery: each subject's 1st delivery failed and is sent again, due now, behind its 2nd,
    // which was attempted and whose retry is overdue. Every 2nd must wait, and none can be parked
    // (a parked row is told from one waiting for its retry by having no attempt).
    const n = 1_100;
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: 'http://127.0.0.1:9/fifo', ordering: 'fifo' });
    const at = Date.now() - 3_600_000;
    const ids = (kind: 'event' | 'delivery', ms: number) =>
      Array.from({ length: n }, () => (kind === 'event' ? newId('event', ms) : newIdAt('delivery', ms)));
    const [ev1, ev2, d1, d2] = [
      ids('event', at),
      ids('event', at + 1_000),
      ids('delivery', at),
      ids('delivery', at + 1_000),
    ];
    const subjects = Array.from({ length: n }, (_, i) => `usr_${i}`);
    const array = (values: string[]) => `{${values.join(',')}}`;
    for (const [events, sequence] of [
      [ev1, 1],
      [ev2, 2],
    ] as const) {
      await t.db.execute(sql`insert into events (id, project_id, type, version, data, subject, sequence, created_at)
        select e, ${p.id}, 'user.updated', 1, '{}'::jsonb, s, ${sequence}, now() - interval '1 hour'
        from unnest(${array(events)}::text[], ${array(subjects)}::text[]) as u(e, s)`);
    }
    await t.db.execute(sql`insert into deliveries (id, project_id, endpoint_id, event_id, status, attempt_count,
        next_attempt_at, completed_at, subject, sequence, created_at)
      select d, ${p.id}, ${endpoint.id}, e, 'failed', 8, null, now() - interval '10 minutes', s, 1, now() - interval '1 hour'
      from unnest(${array(d1)}::text[], ${array(ev1)}::text[], ${array(subjects)}::text[]) as u(d, e, s)`);
    await t.db.execute(sql`insert into deliveries (id, project_id, endpoint_id, event_id, status, attempt_count,
        next_attempt_at, subject, sequence, created_at)
      select d, ${p.id}, ${endpoint.id}, e, 'pending', 1, now() - interval '1 minute', s, 2, now() - interval '1 hour'
      from unnest(${array(d2)}::text[], ${array(ev2)}::text[], ${array(subjects)}::text[]) as u(d, e, s)`);
    expect(
      await requeueFailedSince(t.db, { projectId: p.id, endpointId: endpoint.id, since: new Date(at - 1_000) }),
    ).toBe(n);

    const { deliveries: claimed, parked } = await claimDue(t.db, { limit: 64, leaseMs: 45_000, owner: 'w' });
    expect(parked).toBe(0);
    expect(claimed).toHaveLength(64);
    expect(new Set(claimed.map((d) => d.event.sequence))).toEqual(new Set([1]));
  });
});
