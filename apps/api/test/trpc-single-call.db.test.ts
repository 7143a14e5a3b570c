import { describeDb } from '@herald/db/testing';
import { expect, it } from 'vitest';
import { createTenant, uniqueEmail } from './harness';

/*
 * A call sent alone (`GET /trpc/users.get?input=…`, `POST /trpc/users.create`) is answered by
 * Herald's single-call path (src/trpc/single-call.ts), not by tRPC's fetch adapter; the same call
 * in a batch of one still goes to the adapter. Both must answer alike: status, content type,
 * `Vary`, `Retry-After`, and the body (the single answer is the batch's one element), for
 * successes and for every error.
 */

const COMPARED_HEADERS = ['content-type', 'vary', 'retry-after'];

describeDb('tRPC: a call sent alone answers as in a batch of one', (t) => {
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
      for (const header of COMPARED_HEADERS)
        expect(alone.headers.get(header), `${label}: ${header}`).toBe(inBatch.headers.get(header));
      const [expected] = (await inBatch.json()) as unknown[];
      expect(await alone.json(), label).toEqual(expected);
    }
  });

  it('mutations: success, a taken email, bad, missing and odd input, queries by POST, unknown paths, missing key', async () => {
    const tenant = await createTenant(t.db);
    const taken = uniqueEmail('taken');
    expect((await tenant.request('/v1/users', { json: { email: taken } })).status).toBe(201);
    const { id } = (await (await tenant.request('/v1/users', { json: { email: uniqueEmail() } })).json()) as {
      id: string;
    };

    // `body` is sent as written; `fresh` makes a new email for each of the two sends.
    // `unparsable`: the parser's message quotes the text, which the batch wraps; the rest must match.
    // `contentType`: null sends none; `query` is added to the URL of both sends.
    const cases: Array<{
      path: string;
      body?: string;
      fresh?: boolean;
      auth?: boolean;
      unparsable?: boolean;
      contentType?: string | null;
      query?: string;
      /** Each success answers values of its own (a new token): compared by their keys. */
      ownValues?: boolean;
    }> = [
      { path: 'users.create', fresh: true },
      { path: 'users.create', body: JSON.stringify({ email: taken }) },
      { path: 'users.create', body: JSON.stringify({ email: 'not an email' }) },
      { path: 'users.create', body: JSON.stringify({ email: uniqueEmail(), extra: 1 }) },
      { path: 'users.create', body: JSON.stringify({ email: uniqueEmail(), name: 'a\u0000b' }) },
      { path: 'users.create', body: '' },
      { path: 'users.create', body: 'null' },
      { path: 'users.create', body: '[]' },
      { path: 'users.create', body: '{"email":', unparsable: true },
      { path: 'users.update', body: JSON.stringify({ id, name: 'Renamed' }) },
      { path: 'users.update', body: JSON.stringify({ id: 'usr_01jaaaaaaaaaaaaaaaaaaaaaaa', name: 'x' }) },
      { path: 'users.get', body: JSON.stringify({ id }) },
      { path: 'users.nope', body: '{}' },
      { path: 'users%2Ecreate', fresh: true },
      { path: 'users.create', fresh: true, auth: false },
      { path: 'users.create', fresh: true, contentType: 'Application/JSON; charset=utf-8' },
      { path: 'users.create', fresh: true, contentType: 'application/merge-patch+json' },
      { path: 'users.create', fresh: true, contentType: 'text/plain' },
      { path: 'portalSessions.create', body: '', contentType: null },
      { path: 'portalSessions.create', body: '', ownValues: true },
      { path: 'users.create', fresh: true, query: '&connectionParams=1' },
    ];
    for (const c of cases) {
      const headers: Record<string, string> = {
        ...(c.contentType === null ? {} : { 'content-type': c.contentType ?? 'application/json' }),
        ...(c.auth === false ? { authorization: '' } : {}),
      };
      const email = [uniqueEmail('alone'), uniqueEmail('batch')];
      const body = (i: number) => (c.fresh ? JSON.stringify({ email: email[i] }) : c.body);
      const inBatchBody = (i: number) => {
        const b = body(i);
        return b ? `{"0":${b}}` : b;
      };
      const query = c.query ?? '';
      const alone = await tenant.request(`/trpc/${c.path}${query && `?${query.slice(1)}`}`, {
        method: 'POST',
        headers,
        body: body(0),
      });
      const inBatch = await tenant.request(`/trpc/${c.path}?batch=1${query}`, {
        method: 'POST',
        headers,
        body: inBatchBody(1),
      });
      const label = `${c.path} ${body(0)}`;
      expect(alone.status, label).toBe(inBatch.status);
      for (const header of COMPARED_HEADERS)
        expect(alone.headers.get(header), `${label}: ${header}`).toBe(inBatch.headers.get(header));
      // A request the adapter or a middleware refuses whole (415) is answered once, not per call.
      const batchBody = (await inBatch.json()) as unknown;
      const expected = Array.isArray(batchBody) ? batchBody[0] : batchBody;
      const actual = await alone.json();
      if (c.unparsable) {
        type ParseError = { error: { code: number; data: { code: string; httpStatus: number } } };
        const brief = ({ error: { code, data } }: ParseError) => ({ code, data: data.code, status: data.httpStatus });
        expect(brief(actual as ParseError), label).toEqual(brief(expected as ParseError));
        expect(brief(actual as ParseError).status, label).toBe(400);
        continue;
      }
      if (c.ownValues && alone.status === 200) {
        type Made = { result: { data: Record<string, unknown> } };
        expect(Object.keys((actual as Made).result.data).sort(), label).toEqual(
          Object.keys((expected as Made).result.data).sort(),
        );
        continue;
      }
      if (!c.fresh || alone.status !== 200) {
        expect(actual, label).toEqual(expected);
        continue;
      }
      // Two new users: the same answer but for what is each user's own.
      const mine = ({ result }: { result: { data: Record<string, unknown> } }) => {
        const { id: _id, email: _email, createdAt: _c, updatedAt: _u, ...rest } = result.data;
        return rest;
      };
      type Created = { result: { data: Record<string, unknown> } };
      expect((actual as Created).result.data.email, label).toBe(email[0]);
      expect((expected as Created).result.data.email, label).toBe(email[1]);
      expect(mine(actual as Created), label).toEqual(mine(expected as Created));
    }
  });
});
