import { deliveries, newIdAt } from '@herald/db';
import { currentTestDriver, describeDb } from '@herald/db/testing';
import { runMaintenance } from '@herald/delivery';
import { eq, sql } from 'drizzle-orm';
import postgres from 'postgres';
import { expect, it } from 'vitest';
import { sleep, startHerald, waitFor } from './harness';

/*
 * Payload retention: past HERALD_PAYLOAD_RETENTION (7 days here), events whose deliveries are
 * all finished lose their payload and attempts their response excerpt; type, status and timings
 * stay, the API says `payloadExpired`, and such an event is never sent again. The maintenance's
 * clock is moved 8 days ahead to age the history.
 */

const DAY = 86_400_000;
const in8Days = () => new Date(Date.now() + 8 * DAY);

describeDb('payload retention', (t) => {
  it('refuses a manual retry, and a recovery, past payload retention even while the payload is kept (the delivery stayed queued)', async () => {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: 'https://hooks.example.com/old' });
    await p.createUser();
    const [recent] = await p.deliveryRows();
    // A delivery 8 days old, still queued (a receiver that always fails, retried by hand every day):
    // its payload is kept, and so is its day, for every tenant.
    const at = Date.now() - 8 * DAY;
    const eventId = newIdAt('event', at);
    const deliveryId = newIdAt('delivery', at);
    await h.db.execute(sql`insert into events (id, project_id, type, version, data)
      values (${eventId}, ${p.id}, 'user.deleted', 1, ${JSON.stringify({ user: { id: 'usr_old' } })}::jsonb)`);
    await h.db.execute(sql`insert into deliveries (id, project_id, endpoint_id, event_id, status, next_attempt_at, created_at)
      values (${deliveryId}, ${p.id}, ${endpoint.id}, ${eventId}, 'pending', now() + interval '1 hour',
              to_timestamp(${at / 1000}))`);

    expect((await p.request(`/v1/deliveries/${recent!.id}/retry`, { method: 'POST' })).status).toBe(202);
    const old = await p.request(`/v1/deliveries/${deliveryId}/retry`, { method: 'POST' });
    expect(old.status).toBe(409);
    expect(await old.json()).toMatchObject({
      error: { code: 'conflict', details: { reason: 'past_payload_retention' } },
    });

    // Nor does a recovery reach that far back: failed, the old delivery stays failed.
    await h.db.execute(sql`update deliveries set status = 'failed', next_attempt_at = null where id = ${deliveryId}`);
    const since = new Date(Date.now() - 20 * DAY).toISOString();
    expect(await p.call(`/v1/endpoints/${endpoint.id}/recover`, 202, { json: { since } })).toEqual({
      requeued: 0,
      missed: 0,
      more: false,
    });
    const [stays] = (await p.deliveryRows()).filter((d) => d.id === deliveryId);
    expect(stays!.status).toBe('failed');
  });

  // PGlite has one connection: nothing else can hold a row while maintenance runs.
  it.skipIf(currentTestDriver() !== 'postgres')(
    'skips an event another transaction holds (an erasure rewriting it) instead of waiting for it',
    async () => {
      const h = await startHerald(t);
      const receiver = await h.receiver(() => ({ status: 200, body: 'ok' }));
      const p = await h.project();
      await p.createEndpoint({ url: receiver.url });
      await p.createUser();
      await p.createUser();
      const [held, free] = await p.settled({ expected: 2 });
      await h.dispatcher.stop();
      const maintain = (payloads = true) =>
        runMaintenance(t.db, {
          retentionMs: 30 * DAY,
          ...(payloads ? { payloadRetentionMs: 7 * DAY } : {}),
          partitionsAheadDays: 7,
          now: in8Days(),
        });
      // The days ahead first: creating a partition waits for every lock on its table, by design.
      await maintain(false);
      const other = postgres(t.url!, { max: 1, onnotice: () => {} });
      try {
        const tx = await other.reserve();
        await tx`begin`;
        await tx`select 1 from events where id = ${held!.eventId} for update`;
        // It waited for the lock before: the whole run, every batch in it, held up behind one row.
        const report = await Promise.race([maintain(), sleep(10_000).then(() => 'waited' as const)]);
        expect(report === 'waited' ? report : report.expiredPayloads).toEqual({ events: 1, attempts: 1 });
        expect(await p.call(`/v1/events/${free!.eventId}`, 200)).toMatchObject({ payloadExpired: true });
        await tx`commit`;
        tx.release();
        expect((await maintain()).expiredPayloads).toEqual({ events: 1, attempts: 1 });
        expect(await p.call(`/v1/events/${held!.eventId}`, 200)).toMatchObject({ payloadExpired: true });
      } finally {
        await other.end({ timeout: 5 });
      }
    },
  );

  it.skipIf(currentTestDriver() !== 'postgres')(
    'a retry that meets an event whose payload is being cleared waits for it and answers 409, not 202 (the delivery stays failed)',
    async () => {
      const h = await startHerald(t, { start: false });
      const p = await h.project();
      await p.createEndpoint({ url: 'http://127.0.0.1:9/hook' });
      await p.createUser();
      const [row] = await p.deliveryRows();
      await t.db.update(deliveries).set({ status: 'failed', nextAttemptAt: null }).where(eq(deliveries.id, row!.id));
      const other = postgres(t.url!, { max: 1, onnotice: () => {} });
      try {
        // Payload expiry, between locking the event and committing its cleared payload.
        const tx = await other.reserve();
        await tx`begin`;
        await tx`select 1 from events where id = ${row!.eventId} for update`;
        await tx`update events set data = '{}'::jsonb, payload_expired_at = now() where id = ${row!.eventId}`;
        const retry = p.request(`/v1/deliveries/${row!.id}/retry`, { method: 'POST' });
        await sleep(300);
        await tx`commit`;
        tx.release();
        const answer = await retry;
        expect(answer.status).toBe(409);
        expect(await answer.json()).toMatchObject({ error: { details: { reason: 'payload_expired' } } });
        expect((await p.deliveryRows())[0]).toMatchObject({ status: 'failed' });
      } finally {
        await other.end({ timeout: 5 });
      }
    },
  );

  it('clears payloads and response excerpts of finished deliveries, keeps metadata, and refuses to send them again', async () => {
    const h = await startHerald(t);
    const receiver = await h.receiver(() => ({ status: 200, body: 'thanks, received' }));
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: receiver.url });
    const user = await p.createUser();
    const [finished] = await p.settled({ expected: 1 });
    const before = await p.delivery(finished!.id);
    expect(before).toMatchObject({ status: 'succeeded', payloadExpired: false });
    expect(before.attempts[0]?.responseBody).toBe('thanks, received');

    // A second event whose delivery is still pending keeps its payload.
    await h.dispatcher.stop();
    const later = await p.createUser();
    const rows = await p.deliveryRows();
    const pending = rows.find((r) => r.id !== finished!.id)!;
    expect(pending.status).toBe('pending');

    const report = await runMaintenance(t.db, {
      retentionMs: 30 * DAY,
      payloadRetentionMs: 7 * DAY,
      partitionsAheadDays: 7,
      now: in8Days(),
    });
    expect(report.expiredPayloads).toEqual({ events: 1, attempts: 1 });
    expect(report.dropped).toEqual([]);

    const event = await p.call(`/v1/events/${finished!.eventId}`, 200);
    expect(event).toMatchObject({ id: finished!.eventId, type: 'user.created', payloadExpired: true, data: {} });
    const kept = await p.call(`/v1/events/${pending.eventId}`, 200);
    expect(kept).toMatchObject({ payloadExpired: false, data: { user: { id: later.id, email: later.email } } });
    const listed = await p.events('user.created');
    expect(listed.find((e) => e.id === finished!.eventId)).toMatchObject({ payloadExpired: true });

    const after = await p.delivery(finished!.id);
    expect(after).toMatchObject({ status: 'succeeded', payloadExpired: true, attemptCount: 1 });
    expect(after.attempts[0]).toMatchObject({
      statusCode: 200,
      responseBody: null,
      durationMs: before.attempts[0]!.durationMs,
    });
    const listedDeliveries = await p.deliveriesOf(endpoint.id);
    expect(listedDeliveries.find((d) => d.id === finished!.id)).toMatchObject({ payloadExpired: true });

    // A manual retry answers a clear 409, and recovery leaves the delivery alone: never a webhook with `{}`.
    const retry = await p.request(`/v1/deliveries/${finished!.id}/retry`, { method: 'POST' });
    expect(retry.status).toBe(409);
    expect(await retry.json()).toMatchObject({ error: { code: 'conflict', details: { reason: 'payload_expired' } } });
    // Failed for good, the delivery would be recovered, were its payload not expired.
    await t.db.update(deliveries).set({ status: 'failed' }).where(eq(deliveries.id, finished!.id));
    const recovered = await p.call(`/v1/endpoints/${endpoint.id}/recover`, 202, {
      json: { since: '2020-01-01T00:00:00Z' },
    });
    expect(recovered).toMatchObject({ requeued: 0, missed: 0 });
    const restarted = h.addDispatcher();
    await restarted.start();
    await receiver.waitForRequests(2);
    await sleep(300);
    expect(receiver.requests.map((r) => JSON.parse(r.body).data.user.id)).toEqual([user.id, later.id]);
    expect((await p.delivery(finished!.id)).status).toBe('failed');

    // Queued behind every check (written by hand): the dispatcher fails it unsent.
    await t.db
      .update(deliveries)
      .set({ status: 'pending', nextAttemptAt: new Date() })
      .where(eq(deliveries.id, finished!.id));
    h.wakeup.notify();
    const unsent = await waitFor(async () => {
      const [row] = await t.db.select().from(deliveries).where(eq(deliveries.id, finished!.id));
      return row?.status === 'failed' ? row : null;
    });
    expect(unsent.lastError).toBe('payload_expired');
    expect(receiver.requests).toHaveLength(2);
  });
});
