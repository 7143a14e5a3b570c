import { describeDb } from '@herald/db/testing';
import { expect, it } from 'vitest';
import { createTenant, expectJson, uniqueEmail } from './harness';

/** tRPC batch answers: one entry per call, a result or an error with its code. */
type BatchAnswer = {
  result?: { data: { id?: string } };
  error?: { data?: { code?: string; herald?: { code?: string } } };
}[];

describeDb('Idempotency-Key on batches and under load', (t) => {
  it('a batch under one key runs its calls in turn: a failing call never undoes another call’s write', async () => {
    const tenant = await createTenant(t.db);
    const taken = uniqueEmail('taken');
    await expectJson(await tenant.request('/v1/users', { json: { email: taken } }), 201);
    for (const order of ['new-first', 'taken-first'] as const) {
      const fresh = uniqueEmail('fresh');
      const inputs = order === 'new-first' ? [fresh, taken] : [taken, fresh];
      const response = await tenant.request('/trpc/users.create,users.create?batch=1', {
        headers: { 'idempotency-key': `batch-${order}` },
        json: { 0: { email: inputs[0] }, 1: { email: inputs[1] } },
      });
      expect(response.status).toBeLessThan(500);
      const calls = (await response.json()) as BatchAnswer;
      const created = calls.find((call) => call.result)?.result?.data.id;
      expect(created, JSON.stringify(calls)).toMatch(/^usr_/);
      expect(calls.filter((call) => call.error)).toHaveLength(1);
      // What the answer says was created exists, and the replay says the same.
      await expectJson(await tenant.request(`/v1/users/${created}`), 200);
      const replay = await tenant.request('/trpc/users.create,users.create?batch=1', {
        headers: { 'idempotency-key': `batch-${order}` },
        json: { 0: { email: inputs[0] }, 1: { email: inputs[1] } },
      });
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(((await replay.json()) as BatchAnswer).find((call) => call.result)?.result?.data.id).toBe(created);
    }
  });

  it('more concurrent keyed requests than the pool has connections all finish, and another tenant is answered meanwhile', async () => {
    // Keys are looked up on every request: a lookup made inside a request's transaction waited for
    // a connection that only the other requests' transactions could give back.
    const tenant = await createTenant(t.db, { config: { apiKeyCacheMs: 0 } });
    const other = await createTenant(t.db, { testApp: tenant.testApp });
    const { endpoint: listen } = await expectJson<{ endpoint: { id: string } }>(
      await tenant.request('/v1/endpoints/listen', { json: { forwardTo: 'http://localhost:3000/webhooks' } }),
      201,
    );
    const endpoint = await expectJson<{ id: string }>(
      await tenant.request('/v1/endpoints', { json: { url: 'https://example.com/hook' } }),
      201,
    );
    const started = Date.now();
    const requests = Array.from({ length: 24 }, (_, i) =>
      i % 2 === 0
        ? tenant.request('/trpc/endpoints.update,endpoints.update?batch=1', {
            headers: { 'idempotency-key': `update-${i}` },
            json: { 0: { id: endpoint.id, description: `a${i}` }, 1: { id: endpoint.id, description: `b${i}` } },
          })
        : tenant.request(`/v1/endpoints/${listen.id}/listen/attempts`, {
            headers: { 'idempotency-key': `report-${i}` },
            json: { session: 'none' },
          }),
    );
    const bystander = other.request('/v1/users');
    const guard = new Promise<'stalled'>((resolve) => setTimeout(() => resolve('stalled'), 20_000).unref());
    const settled = await Promise.race([Promise.all([bystander, ...requests]), guard]);
    expect(settled, 'the requests waited on each other for connections').not.toBe('stalled');
    const [answered, ...answers] = settled as Response[];
    expect(answered!.status).toBe(200);
    expect(answers.map((r) => r.status).filter((status) => status >= 500)).toEqual([]);
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 30_000);
});
