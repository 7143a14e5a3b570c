import { deliveries, executeRows } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { recordEvent } from '@herald/delivery';
import { eq, sql } from 'drizzle-orm';
import { expect, it, vi } from 'vitest';
import { startHerald, userSnapshot } from './harness';

const AHEAD_MS = 180_000;

describeDb("an API process whose clock runs ahead of the database's", (t) => {
  it('makes deliveries due now, not when its own clock says', async () => {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    await p.createEndpoint({ url: 'https://hooks.example.com/h', ordering: 'fifo' });

    // (Embedded PGlite reads this process's clock: there the two cannot differ, and it passes as such.)
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + AHEAD_MS });
    let databaseNow: Date;
    try {
      const [database] = await executeRows<{ now: string }>(t.db, sql`select now()::text as now`);
      databaseNow = new Date(database!.now);
      await p.createUser(); // one statement (eventStatement)
      await t.db.transaction((tx) =>
        recordEvent(tx, { projectId: p.id, type: 'user.created', data: { user: userSnapshot('usr_clock') } }),
      );
    } finally {
      vi.useRealTimers();
    }
    const rows = await t.db.select().from(deliveries).where(eq(deliveries.projectId, p.id));
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      // Due by the database's clock (a second's slack for the time the test took).
      expect(row.nextAttemptAt!.getTime()).toBeLessThanOrEqual(databaseNow.getTime() + 1_000);
    }
  });
});
