import type { Database } from '@herald/db';
import { createDb, executeRows, newId, newIdAt } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { runMaintenance } from '@herald/delivery';
import { sql } from 'drizzle-orm';
import { expect, it } from 'vitest';

/*
 * Edges of retention. Rows minted before ids were aligned (a delivery at its own time, not its
 * event's) can sit in a later day than the row they point at. Retention keeps the old day while
 * one of them is still queued; once they are finished it drops the old day and leaves the later
 * day's rows where they are (nothing points across the history tables by foreign key; a delivery
 * whose event is gone is not found by reads, and goes with its own day). The clock is moved 31
 * days ahead: today is past the 30-day retention, tomorrow is not.
 */

const DAY = 86_400_000;
const today = () => Date.now();
const tomorrow = () => Math.floor(Date.now() / DAY) * DAY + DAY + 60_000;
const maintain = (db: Database, days = 31) =>
  runMaintenance(db, { retentionMs: 30 * DAY, partitionsAheadDays: 2, now: new Date(Date.now() + days * DAY) });

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

describeDb('history retention: rows of a later day pointing into a dropped one; writers alongside', (t) => {
  it('a queued one keeps the old day; once finished, the day is dropped and the later day keeps its rows', async () => {
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
    expect(new Set(await ids(t.db, 'deliveries'))).toEqual(new Set([late, keptDelivery]));
    expect(new Set(await ids(t.db, 'delivery_attempts'))).toEqual(new Set([lateAttempt, keptAttempt]));
    // Reads join a delivery to its event: the late one, its event dropped, is no longer found.
    const found = await executeRows<{ id: string }>(
      t.db,
      sql`select d.id from deliveries d join events e on e.id = d.event_id where d.id = ${late}`,
    );
    expect(found).toEqual([]);
  });

  it('tables a run detached but did not drop (it died) are dropped by the next run', async () => {
    await maintain(t.db, 0); // today's partitions and those ahead
    const [ahead] = await executeRows<{ name: string }>(
      t.db,
      sql`select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
          where i.inhparent = 'deliveries'::regclass and c.relname ~ '_p[0-9]{8}$' order by 1 desc limit 1`,
    );
    await t.db.execute(sql.raw(`alter table deliveries detach partition "${ahead!.name}"`));
    const detached = () =>
      executeRows<{ name: string }>(
        t.db,
        sql`select relname as name from pg_class
            where relkind = 'r' and not relispartition and relname ~ '^(events|deliveries|delivery_attempts)_p[0-9]{8}$'`,
      );
    expect(await detached()).toEqual([{ name: ahead!.name }]);
    // Needs a second connection (PostgreSQL only): while a reader holds the detached table, the
    // drop waits briefly for it each try, gives way, and leaves the table to the next run.
    if (t.driver === 'postgres') {
      const reader = await createDb({ url: t.url!, migrate: false, maxConnections: 1 });
      try {
        await reader.sql!.unsafe('begin');
        await reader.sql!.unsafe(`select count(*) from "${ahead!.name}"`);
        await maintain(t.db, 0);
        expect(await detached()).toEqual([{ name: ahead!.name }]);
        await reader.sql!.unsafe('commit');
      } finally {
        await reader.close();
      }
    }
    await maintain(t.db, 0);
    expect(await detached()).toEqual([]);
  });

  // Needs concurrent connections: PostgreSQL only (PGlite has one). Maintenance never holds
  // deliveries while it waits for another history table (it drops a day's deliveries alone), so no cycle can form.
  it.skipIf(t.driver !== 'postgres')(
    'a writer holding events and waiting for deliveries is never the deadlock victim: the drop gives way and comes back',
    async () => {
      // Tomorrow's day (today's went in the test above), past retention 32 days from now.
      const { event, delivery } = await seed(t.db);
      await delivery(tomorrow(), await event(tomorrow()));
      const reader = await createDb({ url: t.url!, migrate: false, maxConnections: 1 });
      const writer = await createDb({ url: t.url!, migrate: false, maxConnections: 1 });
      // Until a statement matching `pattern` waits for a lock (at most 2 s: with the fix, the drop may
      // already have given way).
      const waiting = async (pattern: string) => {
        for (let i = 0; i < 200; i++) {
          const [row] = await executeRows<{ n: number }>(
            t.db,
            sql`select count(*)::int as n from pg_stat_activity
                where datname = current_database() and wait_event_type = 'Lock' and query ~* ${pattern}`,
          );
          if ((row?.n ?? 0) > 0) return;
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      try {
        // A dispatcher's read holds deliveries; the API's transaction has written its event.
        await reader.sql!.unsafe('begin');
        await reader.sql!.unsafe('select count(*) from deliveries');
        await writer.sql!.unsafe('begin');
        const eventId = newIdAt('event', tomorrow());
        const [row] = await writer.sql!.unsafe('select project_id, endpoint_id from deliveries limit 1');
        const project = row!.project_id as string;
        const endpoint = row!.endpoint_id as string;
        await writer.sql!.unsafe(
          `insert into events (id, project_id, type, version, data) values ($1, $2, 'user.created', 1, '{}'::jsonb)`,
          [eventId, project],
        );
        const maintenance = maintain(t.db, 32);
        // Maintenance waits for deliveries, to create tomorrow's partitions ahead or to drop a day.
        await waiting('^(lock|create) table');
        // The API's delivery insert queues behind that lock request; then the read ends, and
        // maintenance gets deliveries and asks for events, which the writer holds: a cycle.
        const written = writer.sql!.unsafe(
          `insert into deliveries (id, project_id, endpoint_id, event_id, status) values ($1, $2, $3, $4, 'succeeded')`,
          [newIdAt('delivery', tomorrow()), project, endpoint, eventId],
        );
        await waiting('^insert into deliveries');
        await reader.sql!.unsafe('commit');
        await written;
        await writer.sql!.unsafe('commit');
        const report = await maintenance;
        expect([...report.dropped, ...report.deferred].join(' ')).toMatch(/p\d{8}/);
      } finally {
        await reader.close();
        await writer.close();
      }
    },
  );

  it('rows written while no partition covered their day (maintenance was down) get their day, and go with it', async () => {
    const { event, delivery, attempt } = await seed(t.db);
    // Past the partitions made ahead: each lands in its table's default partition.
    const day = Math.floor(Date.now() / DAY) * DAY + 40 * DAY;
    const at = day + 3_600_000;
    const rows = { events: await event(at) } as Record<'events' | 'deliveries' | 'delivery_attempts', string>;
    rows.deliveries = await delivery(at, rows.events);
    rows.delivery_attempts = await attempt(at, rows.deliveries);
    const partitionOf = async (table: keyof typeof rows) => {
      const [row] = await executeRows<{ t: string }>(
        t.db,
        sql`select tableoid::regclass::text as t from ${sql.identifier(table)} where id = ${rows[table]}`,
      );
      return row?.t ?? null;
    };
    const suffix = `p${new Date(day).toISOString().slice(0, 10).replaceAll('-', '')}`;
    for (const table of ['events', 'deliveries', 'delivery_attempts'] as const) {
      expect(await partitionOf(table)).toBe(`${table}_default`);
    }
    // Maintenance is back, that day: the day's partitions are made, with its rows moved in.
    const back = await maintain(t.db, 40);
    for (const table of ['events', 'deliveries', 'delivery_attempts'] as const) {
      expect(back.created).toContain(`${table}_${suffix}`);
      expect(await partitionOf(table)).toBe(`${table}_${suffix}`);
    }
    // Past retention, the day goes, its rows with it.
    const later = await maintain(t.db, 40 + 31);
    expect(later.dropped).toContain(suffix);
    for (const table of ['events', 'deliveries', 'delivery_attempts'] as const)
      expect(await partitionOf(table)).toBeNull();
  });
});
