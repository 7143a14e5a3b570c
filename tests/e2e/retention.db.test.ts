import { deliveries, deliveryAttempts, events, executeRows, idTimestamp } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { DispatcherMetrics, listHistoryPartitions, runMaintenance } from '@herald/delivery';
import { eq, sql } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { startHerald } from './harness';

/*
 * Data lifecycle: events, deliveries and attempts are partitioned by day on their id, and
 * retention drops whole days. The tests age the history with the maintenance's injected clock:
 * 31 days from now, today's partition is past the 30-day retention.
 */

const DAY = 86_400_000;
const RETENTION = 30 * DAY;
const in31Days = () => new Date(Date.now() + 31 * DAY);
const todaySuffix = () => `p${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`;

function capturingLogger() {
  const warnings: Array<{ fields: unknown; message: string }> = [];
  const logger = {
    info: () => {},
    warn: (fields: unknown, message: string) => warnings.push({ fields, message }),
  };
  return { warnings, logger: logger as never };
}

describeDb('history retention drops whole day partitions', (t) => {
  it('an event, its deliveries and attempts share a day; past retention that day is dropped and its ids answer 404', async () => {
    const h = await startHerald(t);
    const receiver = await h.receiver();
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: receiver.url });
    const user = await p.createUser();
    const [delivery] = await p.settled({ expected: 1 });
    const [event] = await p.events('user.created');
    const [attempt] = await p.attemptRows(delivery!.id);
    expect(delivery?.status).toBe('succeeded');
    // Minted at the event's time: the three rows live in the same day partition.
    expect(idTimestamp(delivery!.id)).toEqual(idTimestamp(event!.id));
    expect(idTimestamp(attempt!.id)).toEqual(idTimestamp(delivery!.id));

    // A lookup by id reads one partition, not all of them.
    const plan = await executeRows<Record<string, string>>(
      t.db,
      sql`explain select * from deliveries where id = ${delivery!.id}`,
    );
    const scanned = plan.map((r) => Object.values(r)[0]).join('\n');
    expect(scanned).toContain(`deliveries_${todaySuffix()}`);
    expect(scanned).not.toMatch(/deliveries_(default|legacy)/);

    await h.dispatcher.stop();
    const report = await runMaintenance(t.db, { retentionMs: RETENTION, partitionsAheadDays: 7, now: in31Days() });
    expect(report.ran).toBe(true);
    expect(report.dropped).toContain(todaySuffix());
    expect(report.kept).toEqual([]);
    const left = (await listHistoryPartitions(t.db)).map((x) => x.name);
    for (const table of ['events', 'deliveries', 'delivery_attempts']) {
      expect(left).not.toContain(`${table}_${todaySuffix()}`);
      expect(left).toContain(`${table}_default`);
    }
    // Days ahead of the (moved) clock were created.
    const ahead = `p${in31Days().toISOString().slice(0, 10).replaceAll('-', '')}`;
    expect(report.created).toContain(`events_${ahead}`);

    expect(await t.db.$count(events, eq(events.id, event!.id))).toBe(0);
    expect(await t.db.$count(deliveries, eq(deliveries.id, delivery!.id))).toBe(0);
    expect(await t.db.$count(deliveryAttempts, eq(deliveryAttempts.id, attempt!.id))).toBe(0);
    // Expired history is simply not found: a clean 404, never a 5xx.
    for (const path of [`/v1/events/${event!.id}`, `/v1/deliveries/${delivery!.id}`]) {
      const response = await p.request(path);
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ error: { code: 'not_found' } });
    }
    // What is not history stays.
    expect((await p.call(`/v1/users/${user.id}`, 200)).id).toBe(user.id);
    expect((await p.call(`/v1/endpoints/${endpoint.id}`, 200)).id).toBe(endpoint.id);
  });
});

describeDb('history retention keeps unfinished work', (t) => {
  it('a day past retention that holds a pending delivery is kept, reported, delivered, then dropped', async () => {
    const h = await startHerald(t, { start: false });
    const receiver = await h.receiver();
    const p = await h.project();
    await p.createEndpoint({ url: receiver.url });
    await p.createUser();
    const [pending] = await p.deliveryRows();
    expect(pending?.status).toBe('pending');

    const { warnings, logger } = capturingLogger();
    const report = await runMaintenance(t.db, {
      retentionMs: RETENTION,
      partitionsAheadDays: 7,
      now: in31Days(),
      logger,
    });
    expect(report.kept).toEqual([{ day: todaySuffix(), queued: 1 }]);
    expect(report.dropped).not.toContain(todaySuffix());
    expect(warnings.map((w) => w.message).join('\n')).toMatch(/kept/);
    const metrics = await new DispatcherMetrics({ retentionMs: RETENTION, clock: () => in31Days().getTime() }).render(
      t.db,
    );
    expect(metrics).toContain('herald_retention_blocked_deliveries 1');
    expect(metrics).toMatch(/herald_history_partitions\{table="deliveries"\} \d+/);
    expect(metrics).toMatch(/herald_history_table_bytes\{table="events"\} [1-9]\d*/);
    expect(metrics).toMatch(/herald_history_oldest_seconds\{table="events"\} [1-9]/);

    // Still delivered, from the old day.
    await h.dispatcher.start();
    await receiver.waitForRequests(1);
    const [done] = await p.settled({ expected: 1 });
    expect(done).toMatchObject({ id: pending!.id, status: 'succeeded' });
    await h.dispatcher.stop();

    const later = await runMaintenance(t.db, { retentionMs: RETENTION, partitionsAheadDays: 7, now: in31Days() });
    expect(later.dropped).toEqual([todaySuffix()]);
    expect(later.kept).toEqual([]);
    expect(await p.deliveryRows()).toEqual([]);
    const after = await new DispatcherMetrics({ retentionMs: RETENTION, clock: () => in31Days().getTime() }).render(
      t.db,
    );
    expect(after).toContain('herald_retention_blocked_deliveries 0');
  });

  it('one process at a time: a second maintenance run finds the lock taken and does nothing', async () => {
    if (t.driver !== 'postgres') return; // PGlite is one connection: nobody else can hold the lock.
    const { MAINTENANCE_LOCK_KEY } = await import('@herald/delivery');
    await t.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${MAINTENANCE_LOCK_KEY})`);
      const { createDb } = await import('@herald/db');
      const other = await createDb({ url: t.url!, migrate: false });
      try {
        const report = await runMaintenance(other.db, { retentionMs: RETENTION, partitionsAheadDays: 7 });
        expect(report).toMatchObject({ ran: false, created: [], dropped: [] });
      } finally {
        await other.close();
      }
    });
  });
});
