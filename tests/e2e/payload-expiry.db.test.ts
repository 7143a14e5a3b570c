import { deliveries } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { runMaintenance } from '@herald/delivery';
import { eq } from 'drizzle-orm';
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
