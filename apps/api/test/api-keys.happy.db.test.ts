import { apiKeys, projects } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { hashApiKey } from '@herald/router';
import { eq } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { ADMIN_TOKEN, createTenant, createTestApp, expectJson, withJson } from './harness';

interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  key?: string;
}

describeDb('projects and API keys: happy paths', (t) => {
  it('POST /v1/projects (admin token) creates a project and its first key, stored only as a SHA-256', async () => {
    const { app } = createTestApp(t.db);
    const response = await app.request(
      '/v1/projects',
      withJson({ json: { name: '  Acme  ' } }, `Bearer ${ADMIN_TOKEN}`),
    );
    const created = await expectJson<{ project: { id: string; name: string; createdAt: string }; apiKey: ApiKeyView }>(
      response,
      201,
    );
    expect(created.project).toMatchObject({ id: expect.stringMatching(/^prj_/), name: 'Acme' });
    expect(created.apiKey).toMatchObject({ name: 'Default key', revokedAt: null, lastUsedAt: null });
    expect(created.apiKey.key).toMatch(/^sk_[A-Za-z0-9_-]{43}$/);
    expect(created.apiKey.key!.startsWith(created.apiKey.prefix)).toBe(true);

    const [project] = await t.db.select().from(projects).where(eq(projects.id, created.project.id));
    expect(project?.name).toBe('Acme');
    const [row] = await t.db.select().from(apiKeys).where(eq(apiKeys.id, created.apiKey.id));
    expect(row?.keyHash).toBe(hashApiKey(created.apiKey.key!));
    expect(JSON.stringify(row)).not.toContain(created.apiKey.key);

    // The new key works at once.
    const users = await app.request('/v1/users', { headers: { authorization: `Bearer ${created.apiKey.key}` } });
    expect(users.status).toBe(200);
  });

  it('POST /v1/api-keys creates a named key (201) that authenticates as the same project', async () => {
    const tenant = await createTenant(t.db);
    const created = await expectJson<ApiKeyView>(
      await tenant.request('/v1/api-keys', { json: { name: ' CI deploys ' } }),
      201,
    );
    expect(created).toMatchObject({ name: 'CI deploys', revokedAt: null });
    expect(created.key).toMatch(/^sk_/);
    expect(created.key).not.toBe(tenant.apiKey);

    // Without a body the key gets the default name.
    const unnamed = await expectJson<ApiKeyView>(await tenant.request('/v1/api-keys', { method: 'POST' }), 201);
    expect(unnamed.name).toBe('API key');

    // A user made with the new key is visible with the first one: same project.
    const other = await tenant.testApp.app.request(
      '/v1/users',
      withJson({ json: { email: 'via-second-key@example.com' } }, `Bearer ${created.key}`),
    );
    const user = await expectJson<{ id: string }>(other, 201);
    expect((await tenant.request(`/v1/users/${user.id}`)).status).toBe(200);
  });

  it('GET /v1/api-keys lists the project’s keys without the keys themselves', async () => {
    const tenant = await createTenant(t.db);
    const second = await tenant.caller.apiKeys.create({ name: 'second' });
    const list = await expectJson<{ data: ApiKeyView[] }>(await tenant.request('/v1/api-keys'), 200);
    expect(list.data.map((k) => k.id)).toEqual([tenant.apiKeyId, second.id]);
    for (const key of list.data) {
      expect(Object.keys(key).sort()).toEqual(['createdAt', 'id', 'lastUsedAt', 'name', 'prefix', 'revokedAt']);
    }
    const text = JSON.stringify(list);
    expect(text).not.toContain(tenant.apiKey);
    expect(text).not.toContain(second.key);
  });

  it('records when a key was last used', async () => {
    const tenant = await createTenant(t.db);
    const unused = await tenant.caller.apiKeys.create({ name: 'unused' });
    await expectJson(await tenant.request('/v1/users'), 200);
    // The stamp is written off the request path, so wait for it.
    await expect
      .poll(async () => {
        const [row] = await t.db
          .select({ lastUsedAt: apiKeys.lastUsedAt })
          .from(apiKeys)
          .where(eq(apiKeys.id, tenant.apiKeyId));
        return row?.lastUsedAt;
      })
      .toBeInstanceOf(Date);
    const [untouched] = await t.db
      .select({ lastUsedAt: apiKeys.lastUsedAt })
      .from(apiKeys)
      .where(eq(apiKeys.id, unused.id));
    expect(untouched?.lastUsedAt).toBeNull();
  });

  it('DELETE /v1/api-keys/{id} revokes a key: it shows revokedAt and stops authenticating', async () => {
    const tenant = await createTenant(t.db);
    const second = await tenant.caller.apiKeys.create({ name: 'to revoke' });
    const revoked = await expectJson<ApiKeyView>(
      await tenant.request(`/v1/api-keys/${second.id}`, { method: 'DELETE' }),
      200,
    );
    expect(revoked).toMatchObject({ id: second.id, name: 'to revoke' });
    expect(Date.parse(revoked.revokedAt!)).not.toBeNaN();
    expect(revoked).not.toHaveProperty('key');

    const refused = await tenant.testApp.app.request('/v1/users', {
      headers: { authorization: `Bearer ${second.key}` },
    });
    expect(refused.status).toBe(401);
    // Revoking it again finds no active key.
    expect((await tenant.request(`/v1/api-keys/${second.id}`, { method: 'DELETE' })).status).toBe(404);
    // The other key is untouched.
    expect((await tenant.request('/v1/users')).status).toBe(200);
  });

  it('GET /v1/event-types lists the catalog with a JSON Schema and an example per type', async () => {
    const tenant = await createTenant(t.db);
    const catalog = await expectJson<{ data: { type: string; version: number; schema: object; example: unknown }[] }>(
      await tenant.request('/v1/event-types'),
      200,
    );
    const types = catalog.data.map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(['user.created', 'user.updated', 'user.deleted', 'user.login.failed']),
    );
    for (const entry of catalog.data) {
      expect(entry.version).toBeGreaterThanOrEqual(1);
      expect(entry.schema).toMatchObject({ type: 'object' });
    }
  });

  it('GET /healthz and /readyz answer without a key', async () => {
    const { app } = createTestApp(t.db);
    expect(await expectJson(await app.request('/healthz'), 200)).toEqual({ status: 'ok' });
    expect(await expectJson(await app.request('/readyz'), 200)).toEqual({ status: 'ready' });
  });
});
