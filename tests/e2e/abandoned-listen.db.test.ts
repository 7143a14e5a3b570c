import { executeRows } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { deleteEndpointWithHistory, runMaintenance } from '@herald/delivery';
import { sql } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { startHerald } from './harness';
import { sseReader } from './sse-reader';

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
    // A stream still holds the endpoint then (a CLI that lost its deliveries, not one that is gone).
    const streamedAt = (at: Date) =>
      t.db.execute(
        sql`update endpoints set last_streamed_at = ${new Date(at.getTime() - 60 * 60 * 1000).toISOString()}::timestamptz
            where id = ${endpoint.id}`,
      );

    await streamedAt(later(60 * 60 * 1000));
    const soon = await runMaintenance(t.db, { ...options, now: later(60 * 60 * 1000) });
    expect(soon.abandonedListen).toBe(0);
    expect((await project.deliveryRows()).map((d) => d.status)).toEqual(['pending']);

    await streamedAt(later(31 * DAY));
    const past = await runMaintenance(t.db, { ...options, now: later(31 * DAY) });
    expect(past.abandonedListen).toBe(1);
    expect(past.kept).toEqual([]);
    expect(past.dropped).toContain(todaySuffix());
    expect(past.abandonedListenEndpoints).toBe(0);
    // The endpoint stays: the stream holding it takes what comes next.
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
    const { endpoint } = await project.call('/v1/endpoints/listen', 201, {
      json: { forwardTo: 'http://localhost:3000/webhooks' },
    });
    await project.createUser();
    const now = later(2 * DAY);
    // The CLI is still there: its stream marked the endpoint as held in the last hour of every run below.
    await t.db.execute(
      sql`update endpoints set last_streamed_at = ${new Date(now.getTime() + 2 * 60 * 60 * 1000).toISOString()}::timestamptz
          where id = ${endpoint.id}`,
    );
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

  it('an endpoint no stream held for a day is deleted with its deliveries and attempts; one held since, production ones and other projects’ stay', async () => {
    const h = await startHerald(t, { start: false });
    const project = await h.project();
    const other = await h.project();
    const forwardTo = { json: { forwardTo: 'http://localhost:3000/webhooks' } };
    const { endpoint: left } = await project.call('/v1/endpoints/listen', 201, forwardTo);
    const { endpoint: held } = await project.call('/v1/endpoints/listen', 201, forwardTo);
    const { endpoint: othersLeft } = await other.call('/v1/endpoints/listen', 201, forwardTo);
    const { endpoint: production } = await project.createEndpoint({ url: 'http://localhost:3000/production' });
    await project.createUser();
    await other.createUser();
    const [leftDelivery] = (await project.deliveryRows()).filter((d) => d.endpointId === left.id);
    await t.db.execute(
      sql`insert into delivery_attempts (id, delivery_id, attempt_number, status_code, duration_ms, started_at)
          values (${leftDelivery!.id.replace('dlv_', 'att_')}, ${leftDelivery!.id}, 1, 500, 3, now())`,
    );
    const now = later(DAY + 60 * 60 * 1000);
    // A CLI still running holds its endpoint: its stream marked it within the hour.
    await t.db.execute(
      sql`update endpoints set last_streamed_at = ${new Date(now.getTime() - 30 * 60 * 1000).toISOString()}::timestamptz
          where id = ${held.id}`,
    );
    const options = { retentionMs: 30 * DAY, partitionsAheadDays: 7 };

    expect((await runMaintenance(t.db, { ...options, now: later(DAY / 2) })).abandonedListenEndpoints).toBe(0);
    const report = await runMaintenance(t.db, { ...options, now });
    expect(report.abandonedListenEndpoints).toBe(2);
    const ids = async (p: typeof project) =>
      ((await p.call('/v1/endpoints', 200)).data as Array<{ id: string }>).map((e) => e.id).sort();
    expect(await ids(project)).toEqual([held.id, production.id].sort());
    expect(await ids(other)).not.toContain(othersLeft.id);
    await project.call(`/v1/endpoints/${left.id}`, 404);
    const rows = await project.deliveryRows();
    expect(rows.map((d) => d.endpointId).sort()).toEqual([held.id, production.id].sort());
    expect(await project.attemptRows(leftDelivery!.id)).toEqual([]);
  });

  it('a stream marks its endpoint as held when it opens', async () => {
    const h = await startHerald(t, { start: false });
    const project = await h.project();
    const { endpoint } = await project.call('/v1/endpoints/listen', 201, {
      json: { forwardTo: 'http://localhost:3000/webhooks' },
    });
    const streamedAt = async () => {
      const rows = await executeRows<{ at: Date | string | null }>(
        t.db,
        sql`select last_streamed_at as at from endpoints where id = ${endpoint.id}`,
      );
      return rows[0]?.at ?? null;
    };
    expect(await streamedAt()).toBeNull();
    // Made two days ago by a CLI that is still there.
    await t.db.execute(sql`update endpoints set created_at = now() - interval '2 days' where id = ${endpoint.id}`);
    const abort = new AbortController();
    const stream = sseReader(await project.request(`/v1/endpoints/${endpoint.id}/listen`, { signal: abort.signal }));
    try {
      expect((await stream.next()).event).toBe('session');
      await expect.poll(streamedAt).not.toBeNull();
    } finally {
      abort.abort();
      await stream.cancel();
    }
    // Held just now: not deleted two days after its creation.
    const report = await runMaintenance(t.db, { retentionMs: 30 * DAY, partitionsAheadDays: 7 });
    expect(report.abandonedListenEndpoints).toBe(0);
    await project.call(`/v1/endpoints/${endpoint.id}`, 200);
  });

  it('one a stream held again after the list was read stays: idleness is checked again as its row goes', async () => {
    const h = await startHerald(t, { start: false });
    const project = await h.project();
    const { endpoint } = await project.call('/v1/endpoints/listen', 201, {
      json: { forwardTo: 'http://localhost:3000/webhooks' },
    });
    await project.createUser();
    await t.db.execute(sql`update endpoints set created_at = now() - interval '2 days' where id = ${endpoint.id}`);
    // Read as idle; then its CLI woke up and its stream marked it.
    await t.db.execute(sql`update endpoints set last_streamed_at = now() where id = ${endpoint.id}`);
    const idle = sql`endpoints.kind = 'listen' and coalesce(endpoints.last_streamed_at, endpoints.created_at) < now() - interval '1 day'`;
    expect(await deleteEndpointWithHistory(t.db, project.id, endpoint.id, idle)).toBe(false);
    await project.call(`/v1/endpoints/${endpoint.id}`, 200);
  });
});
