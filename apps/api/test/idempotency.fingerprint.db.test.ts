import { createHash, randomBytes } from 'node:crypto';
import { createLogger } from '@herald/config';
import { idempotencyKeys, users } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { and, eq } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { createPlatform } from '../src/platform';
import type { Tenant } from './harness';
import {
  ADMIN_TOKEN,
  createTenant,
  createTestApp,
  expectApiError,
  expectJson,
  tenantFor,
  uniqueEmail,
  withJson,
} from './harness';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const newKey = () => `fp-${randomBytes(6).toString('hex')}`;

function post(tenant: Tenant, path: string, json: unknown, idempotencyKey: string) {
  return tenant.request(path, { json, headers: { 'idempotency-key': idempotencyKey } });
}

describeDb('Idempotency-Key fingerprints are keyed by the server secret', (t) => {
  const recordsOf = (tenant: Tenant) =>
    t.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.projectId, tenant.projectId));

  it('no record holds a plain SHA-256 of a request that carries a password; replay and 422 still work', async () => {
    const tenant = await createTenant(t.db);
    const email = uniqueEmail('fp');
    const password = `correct horse ${randomBytes(4).toString('hex')}`;
    const sent: { path: string; json: Record<string, string>; key: string }[] = [
      { path: '/v1/users', json: { email, password }, key: newKey() },
      { path: '/v1/logins', json: { email, password }, key: newKey() },
    ];
    const created = await expectJson<{ id: string }>(
      await post(tenant, sent[0]!.path, sent[0]!.json, sent[0]!.key),
      201,
    );
    await expectJson(await post(tenant, sent[1]!.path, sent[1]!.json, sent[1]!.key), 200);
    const passwordPath = `/v1/users/${created.id}/password`;
    sent.push({ path: passwordPath, json: { password: `${password} 2` }, key: newKey() });
    await expectJson(await post(tenant, passwordPath, sent[2]!.json, sent[2]!.key), 200);

    const stored = JSON.stringify(await recordsOf(tenant));
    expect(await recordsOf(tenant)).toHaveLength(3);
    for (const { path, json } of sent) {
      const body = JSON.stringify(json);
      // What an attacker holding the table would try: the body's hash, and the old `METHOD path\nbody` one.
      for (const guess of [body, `POST ${path}\n${body}`, `POST ${path} ${body}`, json.password!]) {
        expect(stored).not.toContain(sha256(guess));
      }
    }

    // The same key and body replay; another body under the key is refused.
    const replay = await post(tenant, sent[0]!.path, sent[0]!.json, sent[0]!.key);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    await expectApiError(
      await post(tenant, sent[0]!.path, { email, password: 'another password' }, sent[0]!.key),
      422,
      'idempotency_key_reused',
    );
  });

  it('processes sharing HERALD_SECRET_KEY check each other’s records; another key replays a retry, never 422s it', async () => {
    const secretKey = randomBytes(32).toString('base64url');
    const a = createTestApp(t.db, { config: { secretKey } });
    const tenant = await createTenant(t.db, { testApp: a });
    const sameKeyProcess = tenantFor(
      createTestApp(t.db, { config: { secretKey } }),
      tenant.projectId,
      tenant.apiKey,
      tenant.apiKeyId,
    );
    const otherKeyProcess = tenantFor(
      createTestApp(t.db, { config: { secretKey: randomBytes(32).toString('base64url') } }),
      tenant.projectId,
      tenant.apiKey,
      tenant.apiKeyId,
    );
    const key = newKey();
    const body = { email: uniqueEmail('shared') };
    const first = await expectJson(await post(tenant, '/v1/users', body, key), 201);

    await expectApiError(
      await post(sameKeyProcess, '/v1/users', { email: uniqueEmail() }, key),
      422,
      'idempotency_key_reused',
    );
    for (const retrying of [sameKeyProcess, otherKeyProcess]) {
      const replay = await post(retrying, '/v1/users', body, key);
      expect(replay.status).toBe(201);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(await replay.json()).toEqual(first);
    }
    // A process with another key cannot tell a different body from the same one: it replays, runs nothing.
    const other = { email: uniqueEmail('other') };
    expect((await post(otherKeyProcess, '/v1/users', other, key)).headers.get('idempotent-replayed')).toBe('true');
    const created = await t.db
      .select()
      .from(users)
      .where(and(eq(users.projectId, tenant.projectId), eq(users.email, other.email)));
    expect(created).toEqual([]);
  });

  it('PostgreSQL without HERALD_SECRET_KEY: the platform warns; a configured key never reaches a log or an answer', async () => {
    const raw: string[] = [];
    const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void raw.push(line) } });
    const keyless = await createPlatform({ database: { herald: t.herald }, dispatcher: false, logger });
    await keyless.close();
    // Embedded PGlite keeps a key in its directory (in memory here, one process): nothing to warn about.
    expect(raw.some((line) => line.includes('HERALD_SECRET_KEY is not set'))).toBe(t.driver === 'postgres');

    raw.length = 0;
    const secretKey = randomBytes(32).toString('base64url');
    const platform = await createPlatform({
      database: { herald: t.herald },
      dispatcher: false,
      logger,
      api: { secretKey, adminToken: ADMIN_TOKEN },
    });
    try {
      const answers: string[] = [];
      const call = async (path: string, json: unknown, authorization: string, key?: string) => {
        const headers: Record<string, string> = key ? { 'idempotency-key': key } : {};
        const response = await platform.app.request(path, withJson({ json, headers }, authorization));
        answers.push(JSON.stringify([...response.headers]), await response.text());
        return response;
      };
      const created = await call('/v1/projects', { name: 'logs' }, `Bearer ${ADMIN_TOKEN}`);
      const { apiKey } = JSON.parse(answers.at(-1)!) as { apiKey: { key: string } };
      expect(created.status).toBe(201);
      const key = newKey();
      const email = uniqueEmail('logs');
      for (const body of [{ email }, { email }, { email: uniqueEmail() }]) {
        await call('/v1/users', body, `Bearer ${apiKey.key}`, key);
        await call('/trpc/users.create?batch=1', { 0: body }, `Bearer ${apiKey.key}`, `${key}-trpc`);
      }
      expect(raw.length).toBeGreaterThan(0);
      expect(raw.join('\n')).not.toContain(secretKey);
      expect(answers.join('\n')).not.toContain(secretKey);
      expect(raw.some((line) => line.includes('HERALD_SECRET_KEY is not set'))).toBe(false);
    } finally {
      await platform.close();
    }
  });
});
