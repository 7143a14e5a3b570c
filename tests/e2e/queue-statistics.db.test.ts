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
  it('a partition that grew past its statistics is analysed once, then left alone', async () => {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    await p.createEndpoint({ url: 'http://127.0.0.1:9/never-called' });
    // Short transactions: a long one would hold back every event feed on the server meanwhile.
    for (let batch = 0; batch < 12; batch++) {
      await t.db.transaction(async (tx) => {
        for (let i = 0; i < 100; i++) {
          const user = userSnapshot(`usr_qs_${batch}_${i}`);
          await recordEvent(tx, { projectId: p.id, type: 'user.created', data: { user } });
        }
      });
    }
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
});
