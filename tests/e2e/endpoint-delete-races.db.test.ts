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
  /** An endpoint with one delivery per user created, the first of them claimed (in flight). */
  async function endpointWithOneClaimed(users: number) {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: 'http://127.0.0.1:9/never-sent' });
    for (let i = 0; i < users; i++) await p.createUser();
    const [claimed] = await waitFor(async () => {
      const rows = await claimDueDeliveries(t.db, { limit: 1, leaseMs: 60_000, owner: 'outcome-writer' });
      return rows.length > 0 ? rows : null;
    });
    return { p, endpoint, claimed: claimed! };
  }

  // PostgreSQL only: two transactions at once (PGlite has one connection).
  it.skipIf(t.driver !== 'postgres')(
    'waits for an outcome write holding its in-flight delivery, instead of deadlocking with it',
    async () => {
      const { p, endpoint, claimed } = await endpointWithOneClaimed(1);

      // The outcome write's order: the delivery's row first...
      const { opened: released, open: release } = gate();
      const { opened: holding, open: locked } = gate();
      const writer = t.db.transaction(async (tx) => {
        await tx.execute(sql`select 1 from ${deliveries} where ${deliveries.id} = ${claimed.id} for update`);
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

  // PostgreSQL only: two transactions at once.
  it.skipIf(t.driver !== 'postgres')(
    'deletes the finished history while an outcome write holds an in-flight delivery (every tenant’s outcomes wait for that write)',
    async () => {
      const { p, endpoint, claimed } = await endpointWithOneClaimed(4);
      // The rest: history (finished, with an attempt each), and one waiting for its retry.
      await t.db.execute(sql`update deliveries set status = 'succeeded', next_attempt_at = null
        where endpoint_id = ${endpoint.id} and status = 'pending'`);
      await t.db.execute(sql`insert into delivery_attempts (id, delivery_id, attempt_number, started_at, duration_ms)
        select 'att_' || substr(d.id, 5), d.id, 1, now(), 1 from deliveries d
        where d.endpoint_id = ${endpoint.id} and d.status = 'succeeded'`);
      await t.db.execute(sql`update deliveries set status = 'pending', next_attempt_at = now() + interval '1 hour'
        where id = (select min(id) from deliveries where endpoint_id = ${endpoint.id} and status = 'succeeded')`);
      const finished = () =>
        executeRows<{ deliveries: number; attempts: number }>(
          t.db,
          sql`select (select count(*)::int from deliveries where endpoint_id = ${endpoint.id} and status <> 'in_flight') as deliveries,
                     (select count(*)::int from delivery_attempts a join deliveries d on d.id = a.delivery_id
                      where d.endpoint_id = ${endpoint.id}) as attempts`,
        );
      expect(await finished()).toEqual([{ deliveries: 3, attempts: 3 }]);

      // An outcome write holds the in-flight delivery (it is slow, or waits for the disk).
      const { opened: released, open: release } = gate();
      const { opened: holding, open: locked } = gate();
      const writer = t.db.transaction(async (tx) => {
        await tx.execute(sql`select 1 from ${deliveries} where ${deliveries.id} = ${claimed.id} for update`);
        locked();
        await released;
      });
      await holding;
      const deleting = p.request(`/v1/endpoints/${endpoint.id}`, { method: 'DELETE' });
      // The history and the waiting row go while the write still holds its row; only the
      // delivery in flight waits for it.
      await waitFor(async () => {
        const [counts] = await finished();
        return counts!.deliveries === 0 && counts!.attempts === 0 ? true : null;
      });
      release();
      await writer;
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
