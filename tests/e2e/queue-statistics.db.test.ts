import { executeRows } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { analyzeLaggingQueuePartitions, recordEvent } from '@herald/delivery';
import { sql } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { startHerald, userSnapshot } from './harness';

/*
 * The claim is planned at every call from the partitions' statistics; a day partition that
 * filled faster than autovacuum visits must not keep looking empty (sql/queue-statistics.ts).
 */
const WHOLE = { floor: null, openEnded: true };

describeDb('queue partition statistics', (t) => {
  /** `count` users created, each event fanned out to one endpoint that is never called: as many queued deliveries. */
  async function queueDeliveries(count: number): Promise<void> {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    await p.createEndpoint({ url: 'http://127.0.0.1:9/never-called' });
    // Short transactions: a long one would hold back every event feed on the server meanwhile.
    for (let batch = 0; batch < count / 100; batch++) {
      await t.db.transaction(async (tx) => {
        for (let i = 0; i < 100; i++) {
          const user = userSnapshot(`usr_qs_${batch}_${i}`);
          await recordEvent(tx, { projectId: p.id, type: 'user.created', data: { user } });
        }
      });
    }
  }

  it('a partition that grew past its statistics is analysed once, then left alone', async () => {
    await queueDeliveries(1_200);
    const estimate = async (name: string) => {
      const [row] = await executeRows<{ n: number }>(
        t.db,
        sql`select reltuples::float8 as n from pg_class where relname = ${name}`,
      );
      return Number(row!.n);
    };
    // PostgreSQL publishes a backend's row counts up to a second after its commit.
    let analyzed: string[] = [];
    for (let tries = 0; analyzed.length === 0 && tries < 50; tries++) {
      analyzed = await analyzeLaggingQueuePartitions(t.db, WHOLE);
      if (analyzed.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(analyzed).toHaveLength(1);
    expect(analyzed[0]).toMatch(/^deliveries_p\d{8}$/);
    expect(await estimate(analyzed[0]!)).toBeGreaterThanOrEqual(1_200);
    expect(await analyzeLaggingQueuePartitions(t.db, WHOLE)).toEqual([]);
  });

  it('a partition analysed while its queue was empty is analysed again once a burst is queued in it', async () => {
    await queueDeliveries(1_500);
    // All of them delivered, and the day analysed while nothing in it is queued.
    await t.db.execute(sql`update deliveries set status = 'succeeded', next_attempt_at = null, completed_at = now()`);
    const [{ partition } = { partition: '' }] = await executeRows<{ partition: string }>(
      t.db,
      sql`select tableoid::regclass::text as partition from deliveries limit 1`,
    );
    await t.db.execute(sql`analyze ${sql.identifier(partition)}`);
    // A burst: 1,200 of them queued again (as a recovery would), fewer rows than the day holds.
    await t.db.execute(
      sql`update deliveries set status = 'pending', next_attempt_at = now(), completed_at = null
          where id in (select id from deliveries order by id limit 1200)`,
    );
    let analyzed: string[] = [];
    for (let tries = 0; analyzed.length === 0 && tries < 50; tries++) {
      analyzed = await analyzeLaggingQueuePartitions(t.db, WHOLE);
      if (analyzed.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(analyzed).toEqual([partition]);
    // Its queued estimate now holds the burst, and it is left alone.
    expect(await analyzeLaggingQueuePartitions(t.db, WHOLE)).toEqual([]);
  });
});
