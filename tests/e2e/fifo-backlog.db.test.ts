import { executeRows, newId, newIdAt } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { claimStatement, readQueueWindow } from '@herald/delivery';
import { sql } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { startHerald } from './harness';

/** Rows every node of a plan produced, all loops counted: the work a statement did. */
function rowsProduced(node: Record<string, unknown>): number {
  const own = Number(node['Actual Rows'] ?? 0) * Number(node['Actual Loops'] ?? 0);
  const children = (node.Plans as Record<string, unknown>[] | undefined) ?? [];
  return own + children.reduce((sum, child) => sum + rowsProduced(child), 0);
}

describeDb('a FIFO subject’s backlog and the claim', (t) => {
  it('a claim reads a blocked subject’s backlog once, not once per row for each row (every tenant’s claims wait for it)', async () => {
    const h = await startHerald(t, { start: false });
    const noisy = await h.project();
    const { endpoint } = await noisy.createEndpoint({ url: 'http://127.0.0.1:9/fifo', ordering: 'fifo' });
    // One subject: its first delivery waits for a retry an hour away; the 12,000 after it are due,
    // and each must wait for it.
    const backlog = 12_000;
    const now = Date.now();
    const eventIds = Array.from({ length: backlog }, () => newId('event', now));
    const deliveryIds = Array.from({ length: backlog }, () => newIdAt('delivery', now));
    const sequences = Array.from({ length: backlog }, (_, i) => i + 1);
    const array = (values: (string | number)[]) => `{${values.join(',')}}`;
    await t.db.execute(sql`insert into events (id, project_id, type, version, data, subject, sequence, created_at)
      select e, ${noisy.id}, 'user.updated', 1, '{}'::jsonb, 'usr_hot', s, now()
      from unnest(${array(eventIds)}::text[], ${array(sequences)}::bigint[]) as u(e, s)`);
    await t.db.execute(sql`insert into deliveries (id, project_id, endpoint_id, event_id, status, next_attempt_at, subject, sequence)
      select d, ${noisy.id}, ${endpoint.id}, e, 'pending',
             case when s = 1 then now() + interval '1 hour' else now() end, 'usr_hot', s
      from unnest(${array(deliveryIds)}::text[], ${array(eventIds)}::text[], ${array(sequences)}::bigint[]) as u(d, e, s)`);
    await t.db.execute(sql`analyze deliveries`);

    const window = await readQueueWindow(t.db);
    const claim = claimStatement({ limit: 64, leaseMs: 60_000, owner: 'probe', window });
    // The dispatcher's claim runs with a generic plan (planned once per connection): that plan.
    const plan = await t.db
      .transaction(async (tx) => {
        await tx.execute(sql`set local plan_cache_mode = force_generic_plan`);
        const [row] = await executeRows<Record<string, unknown>>(tx, sql`explain (analyze, format json) ${claim}`);
        throw new RolledBack(Object.values(row!)[0]);
      })
      .catch((error: unknown) => {
        if (error instanceof RolledBack) return error.plan;
        throw error;
      });
    const root = (typeof plan === 'string' ? JSON.parse(plan) : plan) as { Plan: Record<string, unknown> }[];
    const rows = rowsProduced(root[0]!.Plan);
    // Nothing is claimable; reading each backlog row with one probe is 3 rows each (36,000). The
    // generic plan of an EXISTS read every earlier row for each row: 72,000,000 (4–7 s).
    expect(rows).toBeLessThan(backlog * 20);
    expect(rows).toBeGreaterThan(0);
  });
});

/** Carries the plan out of a transaction that must not commit (EXPLAIN ANALYZE ran the claim). */
class RolledBack extends Error {
  constructor(readonly plan: unknown) {
    super('rolled back');
  }
}
