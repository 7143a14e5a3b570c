import { describeDb } from '@herald/db/testing';
import { runMaintenance } from '@herald/delivery';
import { sql } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { startHerald } from './harness';

const DAY = 24 * 60 * 60 * 1000;
const later = (ms: number) => new Date(Date.now() + ms);
const todaySuffix = () => `p${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`;

describeDb('an abandoned herald listen endpoint', (t) => {
  it('its deliveries fail unsent after a day without a stream, so retention drops their day (every tenant’s history in it)', async () => {
    const h = await startHerald(t, { start: false });
    const project = await h.project();
    // A `herald listen` that was killed: its endpoint stays, and no stream ever takes its deliveries.
    const { endpoint } = await project.call('/v1/endpoints/listen', 201, {
      json: { forwardTo: 'http://localhost:3000/webhooks' },
    });
    await project.createUser();
    const options = { retentionMs: 30 * DAY, partitionsAheadDays: 7 };

    const soon = await runMaintenance(t.db, { ...options, now: later(60 * 60 * 1000) });
    expect(soon.abandonedListen).toBe(0);
    expect((await project.deliveryRows()).map((d) => d.status)).toEqual(['pending']);

    const past = await runMaintenance(t.db, { ...options, now: later(31 * DAY) });
    expect(past.abandonedListen).toBe(1);
    expect(past.kept).toEqual([]);
    expect(past.dropped).toContain(todaySuffix());
    // The endpoint stays: a `herald listen` started again streams what comes next.
    expect((await project.call(`/v1/endpoints/${endpoint.id}`, 200)).kind).toBe('listen');
  });

  it('a delivery younger than a day is left alone for a stream to take', async () => {
    const h = await startHerald(t, { start: false });
    const project = await h.project();
    await project.call('/v1/endpoints/listen', 201, { json: { forwardTo: 'http://localhost:3000/webhooks' } });
    await project.createUser();
    const report = await runMaintenance(t.db, { retentionMs: 30 * DAY, partitionsAheadDays: 7, now: later(DAY / 2) });
    expect(report.abandonedListen).toBe(0);
    const [row] = await project.deliveryRows();
    expect(row?.status).toBe('pending');
  });

  it('a day-old delivery waiting for its retry is left for the stream that is still there, until it is due an hour untaken', async () => {
    const h = await startHerald(t, { start: false });
    const project = await h.project();
    await project.call('/v1/endpoints/listen', 201, { json: { forwardTo: 'http://localhost:3000/webhooks' } });
    await project.createUser();
    const now = later(2 * DAY);
    const [row] = await project.deliveryRows();
    // Its first attempts failed (the local app was down): the next retry is due in an hour.
    await t.db.execute(
      sql`update deliveries set attempt_count = 5, next_attempt_at = ${new Date(now.getTime() + 60 * 60 * 1000).toISOString()}::timestamptz
          where id = ${row!.id}`,
    );
    const options = { retentionMs: 30 * DAY, partitionsAheadDays: 7 };
    expect((await runMaintenance(t.db, { ...options, now })).abandonedListen).toBe(0);
    // Due for 30 minutes: a stream may be reconnecting.
    expect(
      (await runMaintenance(t.db, { ...options, now: new Date(now.getTime() + 90 * 60 * 1000) })).abandonedListen,
    ).toBe(0);
    expect((await project.deliveryRows()).map((d) => d.status)).toEqual(['pending']);
    // Due for over an hour and nothing took it: no stream is there.
    const gone = await runMaintenance(t.db, { ...options, now: new Date(now.getTime() + 3 * 60 * 60 * 1000) });
    expect(gone.abandonedListen).toBe(1);
  });
});
