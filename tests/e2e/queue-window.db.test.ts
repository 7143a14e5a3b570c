import { deliveries, events, newIdAt } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import {
  claimDueDeliveries,
  defaultRetryPolicy,
  readQueueWindow,
  recordAttempt,
  recordEvent,
  refreshQueueWindow,
} from '@herald/delivery';
import { sql } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { startHerald, succeededAttempt, userSnapshot } from './harness';

/*
 * The queue window (sql/queue-window.ts): claims only look at the days of history that can
 * hold queued deliveries. A window that is too narrow would strand deliveries, so each way a
 * delivery can land outside it is tried: queued by a clock that ran behind (the next refresh
 * finds it), requeued or recovered from an older day (lowered in the same transaction), and
 * written to the default partition (the window opens upwards).
 */

const DAY = 86_400_000;
const claim = (db: Parameters<typeof claimDueDeliveries>[0]) =>
  claimDueDeliveries(db, { limit: 10, leaseMs: 60_000, owner: 'w1' });
const ok = succeededAttempt;

describeDb('the queue window', (t) => {
  async function setup() {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: 'http://127.0.0.1:9/never-called' });
    return { h, p, endpoint };
  }
  /** As if a dispatcher three days from now had refreshed it: today's rows are below the floor. */
  const raiseFloor = () => refreshQueueWindow(t.db, new Date(Date.now() + 3 * DAY));

  it('a refresh follows what is queued: the oldest day holding a delivery, at most an hour ago', async () => {
    const { p } = await setup();
    expect((await raiseFloor())!.floor!.getTime()).toBeGreaterThan(Date.now() + 2 * DAY);
    const now = new Date();
    const empty = await refreshQueueWindow(t.db, now);
    expect(empty).toEqual({ floor: new Date(now.getTime() - 3_600_000), openEnded: false });

    await t.db.transaction((tx) =>
      recordEvent(tx, { projectId: p.id, type: 'user.created', data: { user: userSnapshot('usr_qw_1') } }),
    );
    const window = await refreshQueueWindow(t.db, now);
    // Today's start, or an hour ago when that is earlier (in the first hour of a UTC day).
    expect(window!.floor!.getTime()).toBe(Math.min(Math.floor(now.getTime() / DAY) * DAY, now.getTime() - 3_600_000));
    expect(await readQueueWindow(t.db)).toEqual(window);
  });

  it('a delivery queued below the floor (a clock running behind) is claimed after the next refresh', async () => {
    const { p } = await setup();
    await raiseFloor();
    await t.db.transaction((tx) =>
      recordEvent(tx, { projectId: p.id, type: 'user.created', data: { user: userSnapshot('usr_qw_2') } }),
    );
    expect(await claim(t.db)).toHaveLength(0);
    await refreshQueueWindow(t.db);
    expect(await claim(t.db)).toHaveLength(1);
  });

  it('a retry through the API and a recovery lower the window at once', async () => {
    const { p, endpoint } = await setup();
    await p.createUser();
    const [first] = await claim(t.db);
    await recordAttempt(t.db, first!, ok, {
      owner: 'w1',
      retryPolicy: defaultRetryPolicy,
      failureWindowMs: DAY,
      startedAt: new Date(),
    });

    await raiseFloor();
    await p.call(`/v1/deliveries/${first!.id}/retry`, 202, { json: {} });
    expect((await claim(t.db)).map((d) => d.id)).toEqual([first!.id]);

    // Missed while disabled, recovered with the floor raised again.
    const since = new Date().toISOString();
    await p.call(`/v1/endpoints/${endpoint.id}`, 200, { method: 'PATCH', json: { disabled: true } });
    const missed = await p.createUser();
    await p.call(`/v1/endpoints/${endpoint.id}`, 200, { method: 'PATCH', json: { disabled: false } });
    await raiseFloor();
    expect(await p.call(`/v1/endpoints/${endpoint.id}/recover`, 202, { json: { since } })).toMatchObject({
      missed: 1,
    });
    const [recovered] = await claim(t.db);
    expect(JSON.parse(recovered!.event.dataJson!)).toMatchObject({ user: { id: missed.id } });
  });

  it('a delivery in the default partition (no day partition for its id) opens the window upwards', async () => {
    const { p, endpoint } = await setup();
    await refreshQueueWindow(t.db);
    // Ten days ahead: past the partitions made in advance, so both rows land in the default partitions.
    const at = Date.now() + 10 * DAY;
    const eventId = newIdAt('event', at);
    await t.db.insert(events).values({ id: eventId, projectId: p.id, type: 'user.created', version: 1, data: {} });
    await t.db.insert(deliveries).values({
      id: newIdAt('delivery', at),
      projectId: p.id,
      endpointId: endpoint.id,
      eventId,
      status: 'pending',
      nextAttemptAt: new Date(),
    });
    const where = await t.db.execute(
      sql`select tableoid::regclass::text as part from deliveries where event_id = ${eventId}`,
    );
    expect(JSON.stringify(where)).toContain('deliveries_default');
    expect(await claim(t.db)).toHaveLength(0); // the window ends with tomorrow
    expect((await refreshQueueWindow(t.db))!.openEnded).toBe(true);
    expect((await claim(t.db)).map((d) => d.event.id)).toEqual([eventId]);
  });
});
