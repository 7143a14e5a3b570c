import { describeDb } from '@herald/db/testing';
import { sql } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { sharedBudgets } from '../src/middleware/shared-budgets';

const HOUR = 3_600_000;

describeDb('shared rate-limit budgets', (t) => {
  it('a database slower than a reservation may wait grants a process at most the limit, its late answers included', async () => {
    const budgets = sharedBudgets(t.db, { windowMs: HOUR });
    const windowStart = Date.now() - (Date.now() % HOUR);
    const limit = 100;
    // The table locked for 2 s (PGlite: its one connection held): each reservation answers late,
    // after this process has counted a chunk alone (500 ms each), and is applied when it comes.
    let locked!: () => void;
    const held = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holder = t.db.transaction(async (tx) => {
      await tx.execute(sql`lock table rate_limit_counts in share mode`);
      locked();
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    });
    await held;
    let granted = 0;
    for (let i = 0; i < 3 * limit; i++) {
      const got = budgets.take('k:slow', windowStart, limit, 1);
      granted += typeof got === 'number' ? got : await got;
    }
    await holder;
    // The late answers have arrived by now; nothing more is granted for them.
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (let i = 0; i < limit; i++) {
      const got = budgets.take('k:slow', windowStart, limit, 1);
      granted += typeof got === 'number' ? got : await got;
    }
    expect(granted).toBe(limit);
    expect(budgets.left('k:slow', windowStart, limit)).toBe(0);
    budgets.stop();
  });
});
