import { idempotencyKeys, projects, users } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { and, eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { Tenant } from './harness';
import { ADMIN_TOKEN, createTenant, createTestApp, eventsOf, expectApiError, expectJson, uniqueEmail } from './harness';

let keyCounter = 0;
const newIdempotencyKey = () => `idem-${Date.now()}-${++keyCounter}`;

function post(tenant: Tenant, path: string, json: unknown, idempotencyKey: string) {
  return tenant.request(path, { json, headers: { 'idempotency-key': idempotencyKey } });
}

describeDb('Idempotency-Key on POST', (t) => {
  async function usersNamed(tenant: Tenant, email: string) {
    return t.db
      .select()
      .from(users)
      .where(and(eq(users.projectId, tenant.projectId), eq(users.email, email)));
  }

  it('the same key and body replay the stored response: same status, same body, nothing done twice', async () => {
    const tenant = await createTenant(t.db);
    const key = newIdempotencyKey();
    const body = { email: uniqueEmail('idem') };
    const first = await post(tenant, '/v1/users', body, key);
    const firstText = await first.text();
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();

    const replay = await post(tenant, '/v1/users', body, key);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await replay.text()).toBe(firstText);

    expect(await usersNamed(tenant, body.email)).toHaveLength(1);
    expect(await eventsOf(tenant, 'user.created')).toHaveLength(1);
  });

  it('a stored error is replayed too (409 email_taken), since it says the request ran', async () => {
    const tenant = await createTenant(t.db);
    const email = uniqueEmail();
    await tenant.caller.users.create({ email });
    const key = newIdempotencyKey();
    await expectApiError(await post(tenant, '/v1/users', { email }, key), 409, 'email_taken');
    const replay = await post(tenant, '/v1/users', { email }, key);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    await expectApiError(replay, 409, 'email_taken');
  });

  it('the same key with a different body → 422 idempotency_key_reused, and the first result stands', async () => {
    const tenant = await createTenant(t.db);
    const key = newIdempotencyKey();
    const firstEmail = uniqueEmail();
    await expectJson(await post(tenant, '/v1/users', { email: firstEmail }, key), 201);
    const otherEmail = uniqueEmail();
    await expectApiError(await post(tenant, '/v1/users', { email: otherEmail }, key), 422, 'idempotency_key_reused');
    // Another route with the same key is another request too.
    await expectApiError(await post(tenant, '/v1/api-keys', { name: 'x' }, key), 422, 'idempotency_key_reused');
    expect(await usersNamed(tenant, otherEmail)).toEqual([]);
    expect((await post(tenant, '/v1/users', { email: firstEmail }, key)).status).toBe(201);
  });

  it('concurrent retries run the request once: one overlapping it answers 409 idempotency_request_in_flight', async () => {
    const tenant = await createTenant(t.db);
    // Whether two requests sent together overlap is the scheduler's choice (the second may wait for a
    // transaction turn and find the answer): every pair must run once, and some pair must overlap.
    let overlapped = false;
    for (let attempt = 0; attempt < 20 && !overlapped; attempt++) {
      const key = newIdempotencyKey();
      const body = { email: uniqueEmail('race'), password: 'a slow password to hash' };
      const pair = await Promise.all([post(tenant, '/v1/users', body, key), post(tenant, '/v1/users', body, key)]);
      const ran = pair.filter((r) => r.status === 201 && r.headers.get('idempotent-replayed') === null);
      expect(ran).toHaveLength(1);
      const other = pair.find((r) => r !== ran[0])!;
      if (other.status === 409) {
        await expectApiError(other, 409, 'idempotency_request_in_flight');
        overlapped = true;
      } else {
        expect({ status: other.status, replayed: other.headers.get('idempotent-replayed') }).toEqual({
          status: 201,
          replayed: 'true',
        });
      }
      // Once it completed, a retry replays it.
      const replay = await post(tenant, '/v1/users', body, key);
      expect(replay.status).toBe(201);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(await usersNamed(tenant, body.email)).toHaveLength(1);
    }
    expect(overlapped).toBe(true);
  });

  it.skipIf(t.driver === 'pglite')(
    'PostgreSQL: while another process runs the request (holds its lock), a retry answers 409 at once',
    async () => {
      const tenant = await createTenant(t.db);
      const key = newIdempotencyKey();
      const body = { email: uniqueEmail('held') };
      await t.db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`${tenant.projectId}\n${key}`}, 0))`);
        await expectApiError(await post(tenant, '/v1/users', body, key), 409, 'idempotency_request_in_flight');
      });
      expect(await usersNamed(tenant, body.email)).toEqual([]);
      // That process ended without an answer: the retry runs.
      expect((await post(tenant, '/v1/users', body, key)).status).toBe(201);
    },
  );

  describe('answers that say nothing ran are not stored, so a retry runs the request', () => {
    it('400 validation error', async () => {
      const tenant = await createTenant(t.db);
      const key = newIdempotencyKey();
      await expectApiError(await post(tenant, '/v1/users', { email: 'nope' }, key), 400, 'validation_error');
      const retry = await post(tenant, '/v1/users', { email: 'nope' }, key);
      expect(retry.headers.get('idempotent-replayed')).toBeNull();
      // And the key is free for a corrected body.
      expect((await post(tenant, '/v1/users', { email: uniqueEmail() }, key)).status).toBe(201);
    });

    it('404 for a path with no route, or a tRPC call of no procedure: the key stays free for the meant one', async () => {
      const tenant = await createTenant(t.db);
      const body = { email: uniqueEmail() };
      const key = newIdempotencyKey();
      await expectApiError(await post(tenant, '/v1/user', body, key), 404, 'not_found');
      const typo = tenant.request('/trpc/users.nosuch', { json: body, headers: { 'idempotency-key': key } });
      expect((await typo).status).toBe(404);
      const again = await tenant.request('/trpc/users.nosuch', { json: body, headers: { 'idempotency-key': key } });
      expect(again.headers.get('idempotent-replayed')).toBeNull();
      // Hono routes no trailing slash: nothing ran there either.
      await expectApiError(await post(tenant, '/v1/users/', body, key), 404, 'not_found');
      const meant = await post(tenant, '/v1/users', body, key);
      expect(meant.status).toBe(201);
      expect((await post(tenant, '/v1/users', body, key)).headers.get('idempotent-replayed')).toBe('true');
    });

    it('a tRPC path with slashes around a procedure runs it (tRPC trims them), so its key holds', async () => {
      const tenant = await createTenant(t.db);
      const key = newIdempotencyKey();
      const send = () =>
        tenant.request('/trpc/users.create/', {
          json: { email: 'slash@example.com' },
          headers: { 'idempotency-key': key },
        });
      expect((await send()).status).toBe(200);
      const again = await send();
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(await usersNamed(tenant, 'slash@example.com')).toHaveLength(1);
    });
  });

  it('an expired record no longer holds the key', async () => {
    const tenant = await createTenant(t.db);
    const key = newIdempotencyKey();
    const body = { email: uniqueEmail() };
    await expectJson(await post(tenant, '/v1/users', body, key), 201);
    const record = and(eq(idempotencyKeys.projectId, tenant.projectId), eq(idempotencyKeys.key, key));
    const [stored] = await t.db.select().from(idempotencyKeys).where(record);
    // Kept at least 24 h, as the draft and Stripe do.
    expect(stored!.expiresAt.getTime() - stored!.createdAt.getTime()).toBeGreaterThanOrEqual(24 * 3600 * 1000);

    await t.db
      .update(idempotencyKeys)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(record);
    // Runs again: this time the email is taken.
    await expectApiError(await post(tenant, '/v1/users', body, key), 409, 'email_taken');
  });

  it('an in-flight record whose request is no longer running: taken over at once on PostgreSQL; on PGlite its outcome is unknown (409), never run twice', async () => {
    const tenant = await createTenant(t.db);
    const key = newIdempotencyKey();
    // Left by a request that died with its process or its database connection a moment ago. On
    // PostgreSQL its change rolled back with its transaction; on PGlite the claim, the change and
    // the answer are three commits, and a crash between the last two left the change made.
    await t.db.insert(idempotencyKeys).values({
      projectId: tenant.projectId,
      key,
      requestFingerprint: 'left by a crashed request',
      status: 'in_flight',
      createdAt: new Date(),
      expiresAt: new Date(Date.now() + 3600 * 1000),
    });
    const body = { email: uniqueEmail() };
    if (t.driver === 'postgres') {
      expect((await post(tenant, '/v1/users', body, key)).status).toBe(201);
      return;
    }
    // The stored fingerprint cannot be checked (another key made it), so the key decides, as for a replay.
    const retry = await expectApiError(await post(tenant, '/v1/users', body, key), 409, 'conflict');
    expect(JSON.stringify(retry)).toContain('cut off by a restart');
    expect(await t.db.$count(users, eq(users.projectId, tenant.projectId))).toBe(0);
  });

  it('malformed keys → 400; GET, PATCH and DELETE ignore the header', async () => {
    const tenant = await createTenant(t.db);
    for (const bad of ['', 'x'.repeat(256), 'has space', 'naïve']) {
      await expectApiError(await post(tenant, '/v1/users', { email: uniqueEmail() }, bad), 400, 'validation_error');
    }
    const user = await tenant.caller.users.create({ email: uniqueEmail() });
    const key = newIdempotencyKey();
    for (const name of ['one', 'two']) {
      const response = await tenant.request(`/v1/users/${user.id}`, {
        method: 'PATCH',
        json: { name },
        headers: { 'idempotency-key': key },
      });
      expect(await expectJson(response, 200)).toMatchObject({ name });
    }
  });

  it('a replayed API key creation never returns the key again, and the key is not stored in plain text', async () => {
    const tenant = await createTenant(t.db);
    const key = newIdempotencyKey();
    const created = await expectJson<{ id: string; key: string }>(
      await post(tenant, '/v1/api-keys', { name: 'ci' }, key),
      201,
    );
    const stored = await t.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.projectId, tenant.projectId));
    expect(JSON.stringify(stored)).not.toContain(created.key);

    const replay = await post(tenant, '/v1/api-keys', { name: 'ci' }, key);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const text = await replay.clone().text();
    expect(text).not.toContain(created.key);
    const error = await expectApiError(replay, 409, 'conflict');
    expect(error.details).toEqual({ id: created.id });
    // Still exactly one key was created.
    expect((await tenant.caller.apiKeys.list()).data).toHaveLength(2);
  });

  it('a replayed portal link creation never returns the link again, and its token is not stored in plain text', async () => {
    const tenant = await createTenant(t.db);
    const key = newIdempotencyKey();
    const created = await expectJson<{ url: string }>(await post(tenant, '/v1/portal-sessions', {}, key), 201);
    const token = new URL(created.url).searchParams.get('token')!;
    expect(token).toMatch(/^hpl_/);
    const stored = await t.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.projectId, tenant.projectId));
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(token);

    const replay = await post(tenant, '/v1/portal-sessions', {}, key);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await replay.clone().text()).not.toContain(token);
    await expectApiError(replay, 409, 'conflict');
  });

  it('a replayed endpoint creation or secret rotation never returns the signing secret, nor stores it', async () => {
    const tenant = await createTenant(t.db);
    const createKey = newIdempotencyKey();
    const body = { url: 'https://example.com/hooks', headers: { 'x-receiver-token': 'kept-secret' } };
    const created = await expectJson<{ endpoint: { id: string }; secret: string }>(
      await post(tenant, '/v1/endpoints', body, createKey),
      201,
    );
    const rotateKey = newIdempotencyKey();
    const path = `/v1/endpoints/${created.endpoint.id}/rotate-secret`;
    const rotated = await expectJson<{ secret: string }>(await post(tenant, path, { graceSeconds: 0 }, rotateKey), 200);
    const stored = JSON.stringify(
      await t.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.projectId, tenant.projectId)),
    );
    for (const secret of [created.secret, rotated.secret, 'kept-secret']) expect(stored).not.toContain(secret);

    const replay = await post(tenant, '/v1/endpoints', body, createKey);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await replay.clone().text()).not.toContain(created.secret);
    const error = await expectApiError(replay, 409, 'conflict');
    expect(error.details).toEqual({ id: created.endpoint.id });
    const rotateReplay = await post(tenant, path, { graceSeconds: 0 }, rotateKey);
    expect(await rotateReplay.clone().text()).not.toContain(rotated.secret);
    await expectApiError(rotateReplay, 409, 'conflict');
    // Nothing ran twice: one endpoint, still signing with the secret the rotation answered.
    expect((await tenant.caller.endpoints.list({})).data).toHaveLength(1);
    expect((await tenant.caller.endpoints.getSecret({ id: created.endpoint.id })).secret).toBe(rotated.secret);
  });

  it('a keyed endpoints.update stores and replays the endpoint with its custom header values hidden', async () => {
    const tenant = await createTenant(t.db);
    const { endpoint } = await tenant.caller.endpoints.create({
      url: 'https://example.com/hooks',
      headers: { Authorization: 'Bearer receiver-credential-123456' },
    });
    const key = newIdempotencyKey();
    const update = () =>
      tenant.request('/trpc/endpoints.update', {
        json: { id: endpoint.id, description: 'x' },
        headers: { 'idempotency-key': key },
      });
    const first = await expectJson<{ result: { data: { headers: Record<string, string> } } }>(await update(), 200);
    // The caller that changed it sees it as it is.
    expect(first.result.data.headers).toEqual({ Authorization: 'Bearer receiver-credential-123456' });
    const stored = JSON.stringify(
      await t.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.projectId, tenant.projectId)),
    );
    expect(stored).not.toContain('receiver-credential-123456');

    await tenant.caller.endpoints.delete({ id: endpoint.id });
    const replay = await update();
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const replayed = await expectJson<{ result: { data: { headers: Record<string, string> } } }>(replay, 200);
    expect(replayed.result.data.headers).toEqual({ Authorization: '(hidden)' });
  });

  it('the admin token with a key → 400 (its records would have no project), and no project is made', async () => {
    const name = `idem admin ${newIdempotencyKey()}`;
    const response = await tenantlessPost('/v1/projects', { name }, newIdempotencyKey());
    await expectApiError(response, 400, 'validation_error');
    expect(await t.db.select().from(projects).where(eq(projects.name, name))).toEqual([]);
  });

  it('a key on a tRPC path that does not decode (%FF) → 4xx from tRPC, never 500', async () => {
    const tenant = await createTenant(t.db);
    for (const path of ['/trpc/%FF', '/trpc/users.create,%E0%A4?batch=1']) {
      const response = await tenant.request(path, { json: {}, headers: { 'idempotency-key': newIdempotencyKey() } });
      expect(response.status, path).toBeGreaterThanOrEqual(400);
      expect(response.status, path).toBeLessThan(500);
    }
  });

  function tenantlessPost(path: string, json: unknown, idempotencyKey: string) {
    return testAppOf().request(path, {
      method: 'POST',
      body: JSON.stringify(json),
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        'content-type': 'application/json',
        'idempotency-key': idempotencyKey,
      },
    });
  }
  function testAppOf() {
    return createTestApp(t.db).app;
  }
});
