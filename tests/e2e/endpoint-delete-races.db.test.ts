import { deliveries, endpoints, executeRows } from '@herald/db';
import { describeDb, gate } from '@herald/db/testing';
import { claimDueDeliveries } from '@herald/delivery';
import { eq, sql } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { startHerald, waitFor } from './harness';

/**
 * Deleting an endpoint while other work touches it: a dispatcher writing an outcome (it locks the
 * delivery, then the endpoint's row for its health) and the endpoint's other operations. Found by a
 * hostile review: the two lock orders deadlocked, and PostgreSQL's choice of victim failed a whole
 * batch of outcomes (every project's in it: their webhooks were sent twice once their leases ran
 * out); the other operations answered 500.
 */
describeDb('deleting an endpoint while it is in use', (t) => {
  // PostgreSQL only: two transactions at once (PGlite has one connection).
  it.skipIf(t.driver !== 'postgres')(
    'waits for an outcome write holding its in-flight delivery, instead of deadlocking with it',
    async () => {
      const h = await startHerald(t, { start: false });
      const p = await h.project();
      const { endpoint } = await p.createEndpoint({ url: 'http://127.0.0.1:9/never-sent' });
      await p.createUser();
      const [claimed] = await waitFor(async () => {
        const rows = await claimDueDeliveries(t.db, { limit: 1, leaseMs: 60_000, owner: 'outcome-writer' });
        return rows.length > 0 ? rows : null;
      });

      // The outcome write's order: the delivery's row first...
      const { opened: released, open: release } = gate();
      const { opened: holding, open: locked } = gate();
      const writer = t.db.transaction(async (tx) => {
        await tx.execute(sql`select 1 from ${deliveries} where ${deliveries.id} = ${claimed!.id} for update`);
        locked();
        await released;
        // ...then its endpoint's row (the health bookkeeping).
        await tx.update(endpoints).set({ latencyMs: 5 }).where(eq(endpoints.id, endpoint.id));
      });
      await holding;
      const deleting = p.request(`/v1/endpoints/${endpoint.id}`, { method: 'DELETE' });
      await waitFor(async () => {
        const [row] = await executeRows<{ n: number }>(
          t.db,
          sql`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`,
        );
        return row!.n > 0 ? true : null;
      });
      release();
      await expect(writer).resolves.toBeUndefined();
      expect((await deleting).status).toBe(200);
      await p.call(`/v1/endpoints/${endpoint.id}`, 404);
    },
  );

  it('the endpoint’s other operations racing its deletion answer as if it were gone (404), never 500', async () => {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    const operations = (id: string) => [
      p.request(`/v1/endpoints/${id}`, { method: 'PATCH', json: { description: 'racing' } }),
      p.request(`/v1/endpoints/${id}/secret`),
      p.request(`/v1/endpoints/${id}/test`, { json: { eventType: 'user.created' } }),
      p.request(`/v1/endpoints/${id}/recover`, { json: { since: new Date(Date.now() - 60_000).toISOString() } }),
      p.request(`/v1/endpoints/${id}/rotate-secret`, { json: { graceSeconds: 0 } }),
    ];
    const statuses = new Set<number>();
    for (let round = 0; round < 15; round++) {
      const { endpoint } = await p.createEndpoint({ url: 'http://127.0.0.1:9/never-sent' });
      const answers = await Promise.all([
        ...operations(endpoint.id),
        p.request(`/v1/endpoints/${endpoint.id}`, { method: 'DELETE' }),
      ]);
      for (const answer of answers) statuses.add(answer.status);
    }
    expect([...statuses].filter((s) => s >= 500)).toEqual([]);
  });
});
