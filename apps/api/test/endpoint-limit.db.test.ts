import { describeDb } from '@herald/db/testing';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createTenant, expectApiError, expectJson } from './harness';

/**
 * One tenant's endpoints are every tenant's cost (each event fans out to them in the request, each
 * claim visits those with queued work), so a project may have `maxEndpointsPerProject`, no more.
 */
describeDb('endpoints per project', (t) => {
  const config = { maxEndpointsPerProject: 3 };
  const url = (n: number | string) => ({ url: `https://hooks.example.com/limit/${n}` });

  it('refuses the endpoint past the limit with 409 endpoint_limit_reached; listen endpoints have their own', async () => {
    const a = await createTenant(t.db, { config });
    for (const n of [1, 2, 3]) await expectJson(await a.request('/v1/endpoints', { json: url(n) }), 201);

    const refused = await a.request('/v1/endpoints', { json: url(4) });
    const body = await expectApiError(refused, 409, 'endpoint_limit_reached');
    expect(body.details).toEqual({ limit: 3 });
    // Over tRPC too: the same check, in the procedure.
    await expect(a.caller.endpoints.create(url('trpc'))).rejects.toMatchObject({ code: 'CONFLICT' });

    // Development endpoints count apart (a killed CLI leaves its own behind): 20 a day.
    const listen = (n: number) => a.request('/v1/endpoints/listen', { json: { forwardTo: `http://localhost:9/${n}` } });
    for (let n = 0; n < 20; n++) await expectJson(await listen(n), 201);
    const tooMany = await expectApiError(await listen(20), 409, 'endpoint_limit_reached');
    expect(tooMany.details).toEqual({ limit: 20 });
    // A day later, those left behind no longer count.
    await t.db.execute(sql`update endpoints set created_at = now() - interval '25 hours'
                           where project_id = ${a.projectId} and kind = 'listen'`);
    await expectJson(await listen(21), 201);
    // Kept alive (a stream opened on each once a day), they count all the same: 50 at most.
    for (let n = 22; n <= 50; n++) {
      if (n % 19 === 0) {
        await t.db.execute(sql`update endpoints set created_at = now() - interval '25 hours'
                               where project_id = ${a.projectId} and kind = 'listen'`);
      }
      await expectJson(await listen(n), 201);
    }
    await t.db.execute(sql`update endpoints set created_at = now() - interval '25 hours'
                           where project_id = ${a.projectId} and kind = 'listen'`);
    const held = await expectApiError(await listen(51), 409, 'endpoint_limit_reached');
    expect(held.details).toEqual({ limit: 50 });

    // Another project of the same API has its own room.
    const b = await createTenant(t.db, { testApp: a.testApp });
    await expectJson(await b.request('/v1/endpoints', { json: url('b') }), 201);

    // Deleting one makes room again.
    const list = await expectJson<{ data: { id: string; kind: string }[] }>(
      await a.request('/v1/endpoints?limit=100'),
      200,
    );
    const http = list.data.filter((e) => e.kind === 'http');
    expect(http).toHaveLength(3);
    expect((await a.request(`/v1/endpoints/${http[0]!.id}`, { method: 'DELETE' })).status).toBeLessThan(300);
    await expectJson(await a.request('/v1/endpoints', { json: url(5) }), 201);
  });

  describe('racing creates', () => {
    it('never pass the limit together', async () => {
      const a = await createTenant(t.db, { config });
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, n) => a.request('/v1/endpoints', { json: url(`race-${n}`) })),
      );
      const statuses = answers.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 201)).toHaveLength(3);
      expect(statuses.filter((s) => s === 409)).toHaveLength(9);
      const list = await expectJson<{ data: unknown[] }>(await a.request('/v1/endpoints?limit=100'), 200);
      expect(list.data).toHaveLength(3);
    });
  });
});
