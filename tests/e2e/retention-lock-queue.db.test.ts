import { createDb, executeRows } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { awaitLongLockHolders } from '@herald/delivery';
import { sql } from 'drizzle-orm';
import { expect, it } from 'vitest';

/*
 * Retention asks for `access exclusive` locks on the history tables. A lock request queued behind
 * a long transaction holds up every statement that comes after it, the dispatchers' claims among
 * them. So before asking, maintenance waits without asking while a transaction open for more than
 * 50 ms holds a lock on the table; meanwhile other statements on it go through.
 */

describeDb('retention waits out long lock holders without queueing', (t) => {
  it('waits while a long transaction holds the table, and blocks nobody meanwhile', async () => {
    if (t.driver !== 'postgres') return; // PGlite is one connection: nobody else holds a lock.
    const other = await createDb({ url: t.url!, migrate: false });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held!: () => void;
    const holding = new Promise<void>((resolve) => {
      held = resolve;
    });
    try {
      const holder = other.db.transaction(async (tx) => {
        await tx.execute(sql`select 1 from deliveries limit 1`);
        held();
        await released;
      });
      await holding;
      await new Promise((resolve) => setTimeout(resolve, 120)); // older than 50 ms now
      let done = false;
      const waiting = t.db.transaction(async (tx) => {
        await awaitLongLockHolders(tx as never, ['deliveries']);
        done = true;
        await tx.execute(sql`lock table deliveries in access exclusive mode`);
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Still waiting for the holder, and asking for nothing: another reader is not held up.
      expect(done).toBe(false);
      const [row] = await executeRows<{ n: number }>(other.db, sql`select count(*)::int as n from deliveries`);
      expect(row?.n).toBe(0);
      expect(done).toBe(false);
      release();
      await holder;
      await waiting;
      expect(done).toBe(true);
    } finally {
      release();
      await other.close();
    }
  });
});
