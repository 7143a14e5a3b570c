import { deliveries, executeRows, newId, newIdAt } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { parkBlockedFifoFollowers, readQueueWindow, recordEvent, requeueDelivery } from '@herald/delivery';
import { asc, eq, sql } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { startHerald, userSnapshot, waitFor } from './harness';

/*
 * A FIFO subject whose first delivery waits for a retry (its receiver is down) holds back every
 * later delivery of that subject. Those are parked (due when the head is) so that claims, every
 * tenant's, stop reading them one by one; a manual retry of the head wakes them.
 */

const array = (values: (string | number)[]) => `{${values.join(',')}}`;

describeDb('FIFO deliveries parked behind a retry', (t) => {
  it('parks a blocked backlog until its head’s retry, leaves other endpoints and heads in flight alone, and a manual retry wakes it', async () => {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    const { endpoint: fifo } = await p.createEndpoint({ url: 'http://127.0.0.1:9/fifo', ordering: 'fifo' });
    const { endpoint: plain } = await p.createEndpoint({ url: 'http://127.0.0.1:9/plain' });
    const now = Date.now();
    // Subject `usr_down`: its first delivery retries in an hour, 3,000 after it are due.
    // Subject `usr_sending`: its first delivery is in flight, 5 after it are due.
    // The plain endpoint: the same shape as `usr_down`, nothing to order.
    // One subject's deliveries to one endpoint: the first (the head) with its own status and due time.
    const subjectRows = (
      endpoint: string,
      subject: string,
      count: number,
      head: { status: string; inSeconds: number },
    ) =>
      Array.from({ length: count }, (_, i) => ({
        endpoint,
        subject,
        sequence: i + 1,
        status: i === 0 ? head.status : 'pending',
        inSeconds: i === 0 ? head.inSeconds : 0,
      }));
    const rows = [
      ...subjectRows(fifo.id, 'usr_down', 3_001, { status: 'pending', inSeconds: 3_600 }),
      ...subjectRows(fifo.id, 'usr_sending', 6, { status: 'in_flight', inSeconds: 60 }),
      ...subjectRows(plain.id, 'usr_down', 50, { status: 'pending', inSeconds: 3_600 }),
    ];
    const eventIds = rows.map(() => newId('event', now));
    const ids = rows.map(() => newIdAt('delivery', now));
    await t.db.execute(sql`insert into events (id, project_id, type, version, data, subject, sequence, created_at)
      select e, ${p.id}, 'user.updated', 1, '{}'::jsonb, s, q, now()
      from unnest(${array(eventIds)}::text[], ${array(rows.map((r) => r.subject))}::text[],
                  ${array(rows.map((r) => r.sequence))}::bigint[]) as u(e, s, q)`);
    await t.db.execute(sql`insert into deliveries
        (id, project_id, endpoint_id, event_id, status, next_attempt_at, subject, sequence, attempt_count, lease_owner)
      select d, ${p.id}, ep, e, st, now() + make_interval(secs => secs), s, q,
             case when q = 1 then 1 else 0 end, case when st = 'in_flight' then 'elsewhere' end
      from unnest(${array(ids)}::text[], ${array(eventIds)}::text[], ${array(rows.map((r) => r.endpoint))}::text[],
                  ${array(rows.map((r) => r.status))}::text[], ${array(rows.map((r) => r.inSeconds))}::int[],
                  ${array(rows.map((r) => r.subject))}::text[], ${array(rows.map((r) => r.sequence))}::bigint[])
        as u(d, e, ep, st, secs, s, q)`);
    const idOf = (endpoint: string, subject: string, sequence: number) =>
      ids[rows.findIndex((r) => r.endpoint === endpoint && r.subject === subject && r.sequence === sequence)]!;
    const due = async (endpointId: string, subject: string) => {
      const [row] = await executeRows<{ n: number }>(
        t.db,
        sql`select count(*)::int as n from deliveries
            where endpoint_id = ${endpointId} and subject = ${subject} and status = 'pending' and next_attempt_at <= now()`,
      );
      return row!.n;
    };

    const window = await readQueueWindow(t.db);
    expect(await parkBlockedFifoFollowers(t.db, window)).toBe(3_000);
    expect(await due(fifo.id, 'usr_down')).toBe(0);
    // Due again with their head, not before.
    const [head] = await t.db
      .select()
      .from(deliveries)
      .where(eq(deliveries.id, idOf(fifo.id, 'usr_down', 1)));
    const [follower] = await t.db
      .select()
      .from(deliveries)
      .where(eq(deliveries.id, idOf(fifo.id, 'usr_down', 2)));
    expect(follower!.nextAttemptAt!.getTime()).toBe(head!.nextAttemptAt!.getTime());
    // A head in flight will finish soon: its followers stay due. The plain endpoint orders nothing.
    expect(await due(fifo.id, 'usr_sending')).toBe(5);
    expect(await due(plain.id, 'usr_down')).toBe(49);
    // Nothing left to park.
    expect(await parkBlockedFifoFollowers(t.db, window)).toBe(0);

    // A manual retry sends the head now; the subject's parked deliveries stay parked: the head
    // promotes the next one when it ends (fifo-promote.ts), one at a time.
    expect(await requeueDelivery(t.db, { projectId: p.id, deliveryId: head!.id })).not.toBeNull();
    expect(await due(fifo.id, 'usr_down')).toBe(1);

    // The head waits for a retry again (its followers are still parked); then the endpoint stops
    // being FIFO: nothing holds them back.
    await t.db.execute(sql`update deliveries set attempt_count = 1, schedule_offset = 0,
      next_attempt_at = now() + interval '1 hour' where id = ${head!.id}`);
    expect(await parkBlockedFifoFollowers(t.db, window)).toBe(0);
    await p.call(`/v1/endpoints/${fifo.id}`, 200, { method: 'PATCH', json: { ordering: 'none' } });
    expect(await due(fifo.id, 'usr_down')).toBe(3_000);
  });

  it('a subject parked behind a retry an hour away goes out in order at once after a manual retry of its head', async () => {
    const h = await startHerald(t, {
      dispatcher: {
        retryPolicy: { delaysMs: [3_600_000], jitter: 0, minRetryAfterMs: 50, maxRetryAfterMs: 10_000 },
      },
    });
    let down = true;
    const receiver = await h.receiver(() => (down ? { status: 503 } : { status: 200 }));
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: receiver.url, ordering: 'fifo' });
    const user = userSnapshot('usr_parked', 'parked@example.com');
    const write = () =>
      recordEvent(t.db, { projectId: p.id, type: 'user.updated', data: { user, changedFields: ['name'] } });
    await write();
    h.wakeup.notify();
    await receiver.waitForRequests(1);
    for (let i = 0; i < 9; i++) await write();
    h.wakeup.notify();
    const queued = () =>
      t.db.select().from(deliveries).where(eq(deliveries.endpointId, endpoint.id)).orderBy(asc(deliveries.sequence));
    // The head waits for its retry in an hour; parked (by a claim that found them blocked, the
    // dispatcher's own park run, or this one), the nine after it wait too.
    const [head] = await waitFor(async () => {
      const all = await queued();
      return all[0]?.status === 'pending' && all[0].attemptCount === 1 ? all : null;
    });
    await parkBlockedFifoFollowers(t.db, await readQueueWindow(t.db));
    const parked = (await queued()).slice(1);
    const now = Date.now();
    for (const d of parked) {
      expect(d.nextAttemptAt!.getTime()).toBeGreaterThan(now);
      expect(d.nextAttemptAt!.getTime()).toBeLessThanOrEqual(head!.nextAttemptAt!.getTime());
    }
    expect(receiver.requests).toHaveLength(1);

    down = false;
    await p.call(`/v1/deliveries/${head!.id}/retry`, 202, { method: 'POST' });
    await p.settled({ expected: 10, timeoutMs: 10_000 });
    const sequences = receiver.requests.map((r) => (JSON.parse(r.body) as { sequence: number }).sequence);
    expect(sequences).toEqual([1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});
