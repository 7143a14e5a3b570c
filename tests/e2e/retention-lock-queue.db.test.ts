import { createDb, executeRows, idTimeBound, newId, newIdAt } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { runMaintenance } from '@herald/delivery';
import { sql } from 'drizzle-orm';
import { expect, it } from 'vitest';

/*
 * Retention needs `access exclusive` locks on the history tables. A lock request waiting in the
 * queue holds up every statement that comes after it, the dispatchers' claims among them. So
 * retention asks without queueing (`NOWAIT`, retried) while another transaction holds a table or
 * one of its partitions, and takes nothing meanwhile: readers go on.
 */

const DAY = 86_400_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeDb('retention never queues its locks behind a long transaction', (t) => {
  it('while a transaction holds one day partition, readers of the table are not held up, and the day goes after', async () => {
    if (t.driver !== 'postgres') return; // PGlite is one connection: nobody else holds a lock.
    const project = newId('project');
    const endpoint = newId('endpoint');
    const event = newIdAt('event', Date.now());
    const delivery = newIdAt('delivery', Date.now());
    await t.db.execute(sql`insert into projects (id, name) values (${project}, 'p')`);
    await t.db.execute(
      sql`insert into endpoints (id, project_id, url) values (${endpoint}, ${project}, 'https://example.com/h')`,
    );
    await t.db.execute(sql`insert into events (id, project_id, type, version, data)
                           values (${event}, ${project}, 'user.created', 1, '{}'::jsonb)`);
    await t.db.execute(sql`insert into deliveries (id, project_id, endpoint_id, event_id, status)
                           values (${delivery}, ${project}, ${endpoint}, ${event}, 'succeeded')`);
    const day = `p${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`;

    const holderDb = await createDb({ url: t.url!, migrate: false });
    const readerDb = await createDb({ url: t.url!, migrate: false });
    let release = () => {};
    try {
      // A long transaction on today's partition alone (an ANALYZE, a report, a backup).
      let holding = () => {};
      const held = new Promise<void>((resolve) => {
        holding = resolve;
      });
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      const holder = holderDb.db.transaction(async (tx) => {
        await tx.execute(sql.raw(`select 1 from "deliveries_${day}" limit 1`));
        holding();
        await released;
      });
      await held;
      const maintenance = runMaintenance(t.db, {
        retentionMs: 30 * DAY,
        partitionsAheadDays: 2,
        now: new Date(Date.now() + 31 * DAY),
      });
      // Meanwhile a reader of the table (tomorrow's rows, as a claim reads the queue) waits for no lock.
      for (let i = 0; i < 5; i++) {
        await sleep(100);
        const rows = await readerDb.db.transaction(async (tx) => {
          await tx.execute(sql`set local lock_timeout = '100ms'`);
          return executeRows<{ n: number }>(
            tx,
            sql`select count(*)::int as n from deliveries where id >= ${idTimeBound('delivery', Date.now() + DAY)}`,
          );
        });
        expect(rows[0]?.n).toBe(0);
      }
      release();
      await holder;
      const report = await maintenance;
      expect(report.dropped).toContain(day);
      const [left] = await executeRows<{ n: number }>(t.db, sql`select count(*)::int as n from deliveries`);
      expect(left?.n).toBe(0);
    } finally {
      release();
      await holderDb.close();
      await readerDb.close();
    }
  });
});
