import { describeDb } from '@herald/db/testing';
import { expect, it } from 'vitest';
import { createTenant, uniqueEmail } from './harness';

/*
 * A query sent alone (`GET /trpc/users.get?input=…`) is answered by Herald's single-query path
 * (src/trpc/single-query.ts), not by tRPC's fetch adapter; the same query in a batch of one
 * still goes to the adapter. Both must answer alike: status, content type, `Vary`, and the
 * body (the single answer is the batch's one element), for successes and for every error.
 */

describeDb('tRPC: a query sent alone answers as in a batch of one', (t) => {
  it('success, not found, bad input, no input, unknown or mutation paths, missing key', async () => {
    const tenant = await createTenant(t.db);
    const created = await tenant.request('/v1/users', { json: { email: uniqueEmail(), name: 'Single' } });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };

    const cases: Array<{ path: string; input?: unknown; auth?: boolean; raw?: string }> = [
      { path: 'users.get', input: { id } },
      { path: 'users.get', input: { id: 'usr_01jaaaaaaaaaaaaaaaaaaaaaaa' } },
      { path: 'users.get', input: { id: 'not an id' } },
      { path: 'users.get', input: { id, extra: 1 } },
      { path: 'users.get' },
      { path: 'users.get', raw: '' },
      { path: 'users.get', input: null },
      { path: 'users.get', input: 'a\u0000b' },
      { path: 'users.list', input: { limit: 1 } },
      { path: 'users.list' },
      { path: 'users.get', input: { id }, auth: false },
      { path: 'users.create', input: { email: uniqueEmail() } },
      { path: 'users.nope', input: { id } },
      { path: 'users%2Eget', input: { id } },
      { path: 'users%252Eget', input: { id } },
      { path: 'users.list', raw: '{"email":"a+b@example.com"}' },
      { path: 'users.get', raw: '{"id":"%E0%A4"}' },
    ];
    for (const c of cases) {
      const headers: Record<string, string> = c.auth === false ? { authorization: '' } : {};
      // `raw` goes into the query string as written (`+`, `%E0%A4`: what a careless client sends).
      const single = c.raw ?? (c.input === undefined ? undefined : encodeURIComponent(JSON.stringify(c.input)));
      const batch =
        c.raw !== undefined
          ? c.raw && `{"0":${c.raw}}`
          : c.input === undefined
            ? undefined
            : encodeURIComponent(JSON.stringify({ 0: c.input }));
      const alone = await tenant.request(`/trpc/${c.path}${single === undefined ? '' : `?input=${single}`}`, {
        headers,
      });
      const inBatch = await tenant.request(`/trpc/${c.path}?batch=1${batch === undefined ? '' : `&input=${batch}`}`, {
        headers,
      });
      const label = `${c.path} ${single}`;
      expect(alone.status, label).toBe(inBatch.status);
      for (const header of ['content-type', 'vary', 'retry-after'])
        expect(alone.headers.get(header), `${label}: ${header}`).toBe(inBatch.headers.get(header));
      const [expected] = (await inBatch.json()) as unknown[];
      expect(await alone.json(), label).toEqual(expected);
    }
  });
});
