import { describeDb } from '@herald/db/testing';
import { TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { createTenant, eventsOf, expectApiError, uniqueEmail } from './harness';

const MISSING_USER = 'usr_00000000000000000000000000';

describeDb('users: errors', (t) => {
  describe('duplicate email → 409 email_taken', () => {
    it('on create, whatever the case of the address, and records no second user.created', async () => {
      const tenant = await createTenant(t.db);
      const email = uniqueEmail('dup');
      expect((await tenant.request('/v1/users', { json: { email } })).status).toBe(201);
      const error = await expectApiError(
        await tenant.request('/v1/users', { json: { email: email.toUpperCase() } }),
        409,
        'email_taken',
      );
      expect(error.message).toMatch(/already exists/);
      expect(await eventsOf(tenant, 'user.created')).toHaveLength(1);
    });

    it('on update to another user’s address', async () => {
      const tenant = await createTenant(t.db);
      const taken = await tenant.caller.users.create({ email: uniqueEmail() });
      const user = await tenant.caller.users.create({ email: uniqueEmail() });
      await expectApiError(
        await tenant.request(`/v1/users/${user.id}`, { method: 'PATCH', json: { email: taken.email } }),
        409,
        'email_taken',
      );
      expect(await tenant.caller.users.get({ id: user.id })).toEqual(user);
      expect(await eventsOf(tenant, 'user.updated')).toEqual([]);
    });

    it('over tRPC as CONFLICT with the same machine-readable code', async () => {
      const tenant = await createTenant(t.db);
      const email = uniqueEmail();
      await tenant.caller.users.create({ email });
      const error = await tenant.caller.users.create({ email }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TRPCError);
      expect((error as TRPCError).code).toBe('CONFLICT');

      const response = await tenant.request('/trpc/users.create', { json: { email } });
      expect(response.status).toBe(409);
      const body = (await response.json()) as { error: { data: { herald: unknown } } };
      expect(body.error.data.herald).toMatchObject({ code: 'email_taken' });
    });
  });

  it('the same email may exist once in each project', async () => {
    const a = await createTenant(t.db);
    const b = await createTenant(t.db, { testApp: a.testApp });
    const email = uniqueEmail('shared');
    expect((await a.request('/v1/users', { json: { email } })).status).toBe(201);
    expect((await b.request('/v1/users', { json: { email } })).status).toBe(201);
  });

  it.each([
    ['GET', `/v1/users/${MISSING_USER}`, undefined],
    ['PATCH', `/v1/users/${MISSING_USER}`, { name: 'x' }],
    ['DELETE', `/v1/users/${MISSING_USER}`, undefined],
    ['POST', `/v1/users/${MISSING_USER}/password`, { password: 'long enough password' }],
  ])('%s %s for a user that does not exist → 404 not_found', async (method, path, json) => {
    const tenant = await createTenant(t.db);
    await expectApiError(await tenant.request(path, { method, ...(json ? { json } : {}) }), 404, 'not_found');
    // A failed change records nothing.
    expect(await eventsOf(tenant)).toEqual([]);
  });

  describe('validation → 400 validation_error with the failing paths', () => {
    it.each([
      ['a missing email', {}, 'email'],
      ['a malformed email', { email: 'not-an-email' }, 'email'],
      ['a short password', { email: 'x@example.com', password: 'short' }, 'password'],
      ['a bad role name', { email: 'x@example.com', roles: ['has space'] }, 'roles.0'],
      ['a blank name', { email: 'x@example.com', name: '   ' }, 'name'],
      ['metadata over 8 KB', { email: 'x@example.com', metadata: { big: 'x'.repeat(9000) } }, 'metadata'],
      ['an unknown field (mass assignment)', { email: 'x@example.com', status: 'locked', id: 'usr_x' }, ''],
    ])('POST /v1/users with %s', async (_label, json, path) => {
      const tenant = await createTenant(t.db);
      const error = await expectApiError(await tenant.request('/v1/users', { json }), 400, 'validation_error');
      expect(error.details).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ path, message: expect.any(String), code: expect.any(String) }),
        ]),
      );
    });

    it('PATCH with a malformed id or an unknown status', async () => {
      const tenant = await createTenant(t.db);
      await expectApiError(
        await tenant.request('/v1/users/not-a-user-id', { method: 'PATCH', json: { name: 'x' } }),
        400,
        'validation_error',
      );
      const user = await tenant.caller.users.create({ email: uniqueEmail() });
      const error = await expectApiError(
        await tenant.request(`/v1/users/${user.id}`, { method: 'PATCH', json: { status: 'deleted' } }),
        400,
        'validation_error',
      );
      expect(error.details).toEqual([expect.objectContaining({ path: 'status' })]);
    });

    it('an id in the body or the query as well as in the path is refused, not silently replaced by the path', async () => {
      const tenant = await createTenant(t.db);
      const user = await tenant.caller.users.create({ email: uniqueEmail(), name: 'Kept' });
      const other = await tenant.caller.users.create({ email: uniqueEmail() });
      for (const [path, init] of [
        [`/v1/users/${user.id}`, { method: 'PATCH', json: { id: other.id, name: 'Changed' } }],
        [`/v1/users/${user.id}`, { method: 'PATCH', json: { id: 12345 } }],
        [`/v1/users/${user.id}?id=${other.id}`, {}],
        [`/v1/users/${user.id}?id=${other.id}`, { method: 'DELETE' }],
      ] as const) {
        const error = await expectApiError(await tenant.request(path, init), 400, 'validation_error');
        expect(error.details).toEqual([expect.objectContaining({ path: 'id', code: 'unrecognized_keys' })]);
      }
      expect(await tenant.caller.users.get({ id: user.id })).toMatchObject({ name: 'Kept' });
      expect(await tenant.caller.users.get({ id: other.id })).toMatchObject({ id: other.id });
    });

    it('GET /v1/users with a limit out of range, an unknown query parameter, or one given twice', async () => {
      const tenant = await createTenant(t.db);
      for (const query of ['limit=0', 'limit=101', 'limit=abc', 'sort=email', 'cursor=', 'limit=1&limit=2']) {
        await expectApiError(await tenant.request(`/v1/users?${query}`), 400, 'validation_error');
      }
      // Out of range says so, however many digits: not "expected number, received string".
      for (const [limit, says] of [
        ['1000', /<=100/],
        ['99999999999', /<=100/],
        ['-1', />=1/],
      ] as const) {
        const error = await expectApiError(await tenant.request(`/v1/users?limit=${limit}`), 400, 'validation_error');
        expect(JSON.stringify(error.details), limit).toMatch(says);
      }
    });

    it('a limit that is not plain digits, or a cursor that is not an id of the list, is refused on every list', async () => {
      const tenant = await createTenant(t.db);
      const { endpoint } = await tenant.caller.endpoints.create({ url: 'https://example.com/hook' });
      const lists = ['/v1/users', '/v1/endpoints', `/v1/endpoints/${endpoint.id}/deliveries`, '/v1/deliveries'];
      const badLimits = ['0x10', '%205', '5%20', '1e1', '+5', '5.0', '-1', 'true', '[7]'];
      // A made-up cursor answered a page from an arbitrary point; an id of another list, too.
      const badCursors = ['zzz', 'usr_', `${endpoint.id}x`, 'evt_00000000000000000000000000'];
      for (const list of lists) {
        for (const limit of badLimits)
          await expectApiError(await tenant.request(`${list}?limit=${limit}`), 400, 'validation_error');
        for (const cursor of badCursors)
          await expectApiError(await tenant.request(`${list}?cursor=${cursor}`), 400, 'validation_error');
        const page = await tenant.request(`${list}?limit=007`);
        expect(page.status, `${list}: ${await page.clone().text()}`).toBe(200);
      }
      // Over tRPC the input is JSON: an integer (or its digits as a string, as in a query string).
      for (const limit of [true, [7], ' 7', '0x7', 7.5]) {
        const error = await tenant.caller.users
          .list({ limit } as unknown as { limit: number })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TRPCError);
        expect((error as TRPCError).code).toBe('BAD_REQUEST');
      }
      expect((await tenant.caller.users.list({ limit: 1 })).data).toEqual([]);
    });

    it('text PostgreSQL cannot store (NUL, lone surrogates) is refused, not a 500', async () => {
      const tenant = await createTenant(t.db);
      const bodies = [
        { email: uniqueEmail(), name: 'a\u0000b' },
        { email: uniqueEmail(), name: '\ud800' },
        { email: uniqueEmail(), metadata: { note: 'x\u0000' } },
        { email: uniqueEmail(), metadata: { nested: [{ '\udc00': 1 }] } },
      ];
      for (const json of bodies)
        await expectApiError(await tenant.request('/v1/users', { json }), 400, 'validation_error');
      await expectApiError(await tenant.request('/v1/users?cursor=%00'), 400, 'validation_error');
      expect(await eventsOf(tenant)).toEqual([]);
    });

    it('a "__proto__" key in metadata or in custom headers is refused, not dropped from what is stored', async () => {
      const tenant = await createTenant(t.db);
      // Sent as raw JSON: an object literal's `__proto__` would set its prototype, not a key.
      const send = (path: string, body: string) =>
        tenant.request(path, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      for (const metadata of ['{"__proto__":{"admin":true},"b":2}', '{"a":[{"__proto__":1}]}']) {
        const response = await send('/v1/users', `{"email":"${uniqueEmail()}","metadata":${metadata}}`);
        const error = await expectApiError(response, 400, 'validation_error');
        expect(JSON.stringify(error.details)).toContain('__proto__');
      }
      const headers = '{"url":"https://hooks.example.com/h","headers":{"__proto__":"x","X-A":"b"}}';
      await expectApiError(await send('/v1/endpoints', headers), 400, 'validation_error');
      expect(await eventsOf(tenant)).toEqual([]);
      // Keys that merely look alike are data like any other.
      const user = await send('/v1/users', `{"email":"${uniqueEmail()}","metadata":{"proto":1,"__proto":2}}`);
      expect(((await user.json()) as { metadata: unknown }).metadata).toEqual({ proto: 1, __proto: 2 });
    });

    it('metadata that PostgreSQL would print larger than 8 KB (numbers in full) is refused', async () => {
      const tenant = await createTenant(t.db);
      // 8.2 KB as sent; `jsonb` prints each 5e-324 as 326 characters: a 228 KB event and webhook.
      const send = (metadata: string) =>
        tenant.request('/v1/users', {
          method: 'POST',
          body: `{"email":"${uniqueEmail()}","metadata":${metadata}}`,
          headers: { 'content-type': 'application/json' },
        });
      const tiny = `{${Array.from({ length: 682 }, (_, i) => `"${i.toString(36).padStart(2, '0')}":5e-324`).join(',')}}`;
      const error = await expectApiError(await send(tiny), 400, 'validation_error');
      expect(JSON.stringify(error.details)).toContain('8 KB');
      const huge = `{${Array.from({ length: 30 }, (_, i) => `"n${i}":1e308`).join(',')}}`;
      await expectApiError(await send(huge), 400, 'validation_error');
      expect(await eventsOf(tenant)).toEqual([]);
      // Ordinary numbers are as before.
      expect((await send('{"a":1.5e-3,"b":12345678901234567890,"c":-0.25}')).status).toBe(201);
    });

    it('a new password with a lone surrogate is refused: it would equal every other spelling of it', async () => {
      const tenant = await createTenant(t.db);
      const send = (body: string) =>
        tenant.request('/v1/users', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      const error = await expectApiError(
        await send(`{"email":"${uniqueEmail()}","password":"passw\\ud800rd1"}`),
        400,
        'validation_error',
      );
      expect(JSON.stringify(error.details)).toContain('surrogate');
      // A pair (an emoji) is a character like any other.
      expect((await send(`{"email":"${uniqueEmail()}","password":"passw\\ud83d\\ude00rd1"}`)).status).toBe(201);
    });

    it('too many custom headers are refused before each is checked: one issue, not one per header', async () => {
      const tenant = await createTenant(t.db);
      const headers = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`bad header ${i}`, 'v']));
      const response = await tenant.request('/v1/endpoints', { json: { url: 'https://hooks.example.com/h', headers } });
      const error = await expectApiError(response, 400, 'validation_error');
      expect(error.details).toHaveLength(1);
      expect(JSON.stringify(error.details)).toContain('at most 20 custom headers');
      // What hidden values are shown as is not a value: a read-modify-write would store it.
      const hidden = await tenant.request('/v1/endpoints', {
        json: { url: 'https://hooks.example.com/h', headers: { Authorization: '(hidden)' } },
      });
      await expectApiError(hidden, 400, 'validation_error');
    });
  });
});
