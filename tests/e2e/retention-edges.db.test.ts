import type { Database } from '@herald/db';
import { executeRows, newId, newIdAt } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { runMaintenance } from '@herald/delivery';
import { sql } from 'drizzle-orm';
import { expect, it } from 'vitest';

/*
 * Rows minted before ids were aligned (a delivery at its own time, not its event's) can sit in
 * a later day than the row they point at. Retention deletes such finished rows of the kept day
 * so the old day's partitions can go, keeps the old day while one of them is still queued, and
 * leaves everything else of the kept day alone. The clock is moved 31 days ahead: today is past
 * the 30-day retention, tomorrow is not.
 */

const DAY = 86_400_000;
const today = () => Date.now();
const tomorrow = () => Math.floor(Date.now() / DAY) * DAY + DAY + 60_000;
const maintain = (db: Database) =>
  runMaintenance(db, { retentionMs: 30 * DAY, partitionsAheadDays: 2, now: new Date(Date.now() + 31 * DAY) });

async function seed(db: Database) {
  const project = newId('project');
  const endpoint = newId('endpoint');
  await db.execute(sql`insert into projects (id, name) values (${project}, 'p')`);
  await db.execute(
    sql`insert into endpoints (id, project_id, url) values (${endpoint}, ${project}, 'https://example.com/h')`,
  );
  const event = async (at: number) => {
    const id = newIdAt('event', at);
    await db.execute(sql`insert into events (id, project_id, type, version, data)
                         values (${id}, ${project}, 'user.created', 1, '{}'::jsonb)`);
    return id;
  };
  const delivery = async (at: number, eventId: string, status = 'succeeded') => {
    const id = newIdAt('delivery', at);
    await db.execute(sql`insert into deliveries (id, project_id, endpoint_id, event_id, status, next_attempt_at)
                         values (${id}, ${project}, ${endpoint}, ${eventId}, ${status},
                                 case when ${status} = 'pending' then now() end)`);
    return id;
  };
  const attempt = async (at: number, deliveryId: string) => {
    const id = newIdAt('attempt', at);
    await db.execute(sql`insert into delivery_attempts (id, delivery_id, attempt_number, started_at, duration_ms)
                         values (${id}, ${deliveryId}, 1, now(), 5)`);
    return id;
  };
  return { event, delivery, attempt };
}

async function ids(db: Database, table: 'events' | 'deliveries' | 'delivery_attempts'): Promise<string[]> {
  const rows = await executeRows<{ id: string }>(db, sql`select id from ${sql.identifier(table)} order by id`);
  return rows.map((r) => r.id);
}

describeDb('history retention and rows of a later day that point into a dropped one', (t) => {
  it('a queued one keeps the old day; once finished, it and its kind are deleted and the day is dropped', async () => {
    const { event, delivery, attempt } = await seed(t.db);
    const old = await event(today());
    const oldDelivery = await delivery(today(), old);
    await attempt(today(), oldDelivery);
    // Tomorrow's rows pointing into today: a delivery of today's event and an attempt of today's delivery.
    const late = await delivery(tomorrow(), old, 'pending');
    const lateAttempt = await attempt(tomorrow(), oldDelivery);
    // Tomorrow's own history, which must stay.
    const kept = await event(tomorrow());
    const keptDelivery = await delivery(tomorrow(), kept);
    const keptAttempt = await attempt(tomorrow(), keptDelivery);

    const blocked = await maintain(t.db);
    expect(blocked.kept).toHaveLength(1);
    expect(blocked.kept[0]!.queued).toBe(1);
    expect(await ids(t.db, 'events')).toContain(old);

    await t.db.execute(sql`update deliveries set status = 'succeeded', next_attempt_at = null where id = ${late}`);
    const report = await maintain(t.db);
    expect(report.kept).toEqual([]);
    expect(report.dropped).toContain(blocked.kept[0]!.day);
    expect(await ids(t.db, 'events')).toEqual([kept]);
    expect(await ids(t.db, 'deliveries')).toEqual([keptDelivery]);
    expect(await ids(t.db, 'delivery_attempts')).toEqual([keptAttempt]);
    expect(await ids(t.db, 'delivery_attempts')).not.toContain(lateAttempt);
  });
});
