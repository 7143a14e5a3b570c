import { randomBytes } from 'node:crypto';
import { apiKeys, idempotencyKeys, loginThrottles, users } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server';
import { listen } from '../src/server';
import type { Tenant } from './harness';
import { createTenant, expectApiError, uniqueEmail } from './harness';

const newKey = () => `trpc-${randomBytes(6).toString('hex')}`;

interface TrpcCall {
  result?: { data: Record<string, unknown> };
  error?: {
    code: number;
    message: string;
    data: { code: string; httpStatus: number; herald: { code: string; details?: unknown } };
  };
}

/**
 * What `@herald/client` (tRPC's httpBatchLink) sends for mutations:
 * `POST /trpc/a,b?batch=1` with `{ "0": inputA, "1": inputB }`, over a real socket.
 */
async function mutate(server: RunningServer, tenant: Tenant, calls: [string, unknown][], idempotencyKey?: string) {
  const response = await fetch(`${server.url}/trpc/${calls.map(([path]) => path).join(',')}?batch=1`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${tenant.apiKey}`,
      'content-type': 'application/json',
      ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
    },
    body: JSON.stringify(Object.fromEntries(calls.map(([, input], i) => [String(i), input]))),
  });
  const text = await response.text();
  return {
    status: response.status,
    replayed: response.headers.get('idempotent-replayed'),
    text,
    calls: JSON.parse(text) as TrpcCall[],
  };
}

describeDb('Idempotency-Key on tRPC mutations (real HTTP, the typed client’s batch format)', (t) => {
  let tenant: Tenant;
  let server: RunningServer;
  beforeAll(async () => {
    tenant = await createTenant(t.db);
    server = await listen(tenant.testApp.app);
  });
  afterAll(() => server?.close());

  const usersNamed = (email: string) =>
    t.db
      .select()
      .from(users)
      .where(and(eq(users.projectId, tenant.projectId), eq(users.email, email)));

  it('two apiKeys.create with one key make one key; the second answer is the 409 conflict naming it, never the key', async () => {
    const key = newKey();
    const first = await mutate(server, tenant, [['apiKeys.create', { name: 'ci' }]], key);
    expect(first.status).toBe(200);
    const created = first.calls[0]!.result!.data as { id: string; key: string };
    expect(created.key).toMatch(/^sk_/);

    const second = await mutate(server, tenant, [['apiKeys.create', { name: 'ci' }]], key);
    expect(second.status).toBe(409);
    expect(second.replayed).toBe('true');
    expect(second.text).not.toContain(created.key);
    expect(second.calls[0]!.error!.data).toMatchObject({
      code: 'CONFLICT',
      httpStatus: 409,
      herald: { code: 'conflict', details: { id: created.id } },
    });
    const keys = await t.db.select().from(apiKeys).where(eq(apiKeys.projectId, tenant.projectId));
    expect(keys.filter((k) => k.name === 'ci')).toHaveLength(1);
    const records = await t.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.projectId, tenant.projectId));
    expect(JSON.stringify(records)).not.toContain(created.key);
  });

  it('a batch is one request: replayed whole with the same key, 422 for another batch, each change made once', async () => {
    const key = newKey();
    const emails = [uniqueEmail('batch'), uniqueEmail('batch')];
    const calls: [string, unknown][] = emails.map((email) => ['users.create', { email }]);
    const first = await mutate(server, tenant, calls, key);
    expect(first.status).toBe(200);
    const replay = await mutate(server, tenant, calls, key);
    expect(replay.replayed).toBe('true');
    expect(replay.status).toBe(200);
    expect(replay.text).toBe(first.text);

    const other = await mutate(server, tenant, [calls[0]!], key);
    expect(other.status).toBe(422);
    expect(other.calls[0]!.error!.data.herald.code).toBe('idempotency_key_reused');
    for (const email of emails) expect(await usersNamed(email)).toHaveLength(1);
  });

  it('a batch with one transient call is replayed whole: the call that ran never runs twice', async () => {
    const email = uniqueEmail('mixed');
    await blockLogins(email);
    const key = newKey();
    const calls: [string, unknown][] = [
      ['users.create', { email }],
      ['logins.create', { email, password: 'whatever it is' }],
    ];
    const first = await mutate(server, tenant, calls, key);
    expect(first.status).toBe(207);
    expect(first.calls.map((c) => c.error?.data.httpStatus ?? 200)).toEqual([200, 429]);
    const replay = await mutate(server, tenant, calls, key);
    expect(replay.replayed).toBe('true');
    expect(replay.text).toBe(first.text);
    expect(await usersNamed(email)).toHaveLength(1);
  });

  // tRPC streams when `trpc-accept` says so, or, without it, when `Accept` lists JSON Lines.
  it.each<Record<string, string>>([
    { 'trpc-accept': 'application/jsonl' },
    { accept: 'application/jsonl' },
    { accept: 'text/html, application/jsonl' },
  ])(
    'a streamed batch (httpBatchStreamLink; %o) has no one answer to replay: 400, and nothing runs',
    async (streamed) => {
      const email = uniqueEmail('streamed');
      const response = await fetch(`${server.url}/trpc/users.create?batch=1`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${tenant.apiKey}`,
          'content-type': 'application/json',
          ...streamed,
          'idempotency-key': newKey(),
        },
        body: JSON.stringify({ 0: { email } }),
      });
      expect(response.status).toBe(400);
      const [call] = (await response.json()) as TrpcCall[];
      expect(call!.error!.data.herald.code).toBe('validation_error');
      expect(await usersNamed(email)).toEqual([]);
    },
  );

  it('a new API key asked for as a stream is never stored for replay: 400 before anything runs, nothing kept', async () => {
    const key = newKey();
    const send = () =>
      fetch(`${server.url}/trpc/apiKeys.create?batch=1`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${tenant.apiKey}`,
          'content-type': 'application/json',
          accept: 'application/jsonl',
          'idempotency-key': key,
        },
        body: JSON.stringify({ 0: { name: 'streamed' } }),
      });
    for (const response of [await send(), await send()]) {
      expect(response.status).toBe(400);
      expect(await response.text()).not.toContain('sk_');
    }
    const stored = await t.db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.projectId, tenant.projectId), eq(idempotencyKeys.key, key)));
    expect(stored).toEqual([]);
    const made = await t.db
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.projectId, tenant.projectId), eq(apiKeys.name, 'streamed')));
    expect(made).toEqual([]);
  });

  it('the same key without a stream answer (trpc-accept: application/json wins over Accept) runs and replays', async () => {
    const email = uniqueEmail('not-streamed');
    const key = newKey();
    const send = () =>
      fetch(`${server.url}/trpc/users.create?batch=1`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${tenant.apiKey}`,
          'content-type': 'application/json',
          'trpc-accept': 'application/json',
          accept: 'application/jsonl',
          'idempotency-key': key,
        },
        body: JSON.stringify({ 0: { email } }),
      });
    const first = await send();
    expect(first.status).toBe(200);
    const replay = await send();
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await replay.text()).toBe(await first.text());
    expect(await usersNamed(email)).toHaveLength(1);
  });

  /** Five failed logins block the email for 15 minutes (429 with Retry-After). */
  async function blockLogins(email: string) {
    for (let i = 0; i < 5; i++) {
      await mutate(server, tenant, [['logins.create', { email, password: `wrong ${i}` }]]);
    }
  }
  const unblockLogins = () => t.db.delete(loginThrottles).where(eq(loginThrottles.projectId, tenant.projectId));

  describe('transient answers (429, 503) are not stored: a retry after the condition cleared runs', () => {
    it('tRPC: a login refused 429 runs when retried once unblocked, and that answer is replayed', async () => {
      const email = uniqueEmail('throttled');
      const password = 'the right password';
      const created = await mutate(server, tenant, [['users.create', { email, password }]]);
      const userId = (created.calls[0]!.result!.data as { id: string }).id;
      await blockLogins(email);
      const key = newKey();
      const login: [string, unknown][] = [['logins.create', { email, password }]];

      const refused = await mutate(server, tenant, login, key);
      expect(refused.status).toBe(429);
      await unblockLogins();
      const retried = await mutate(server, tenant, login, key);
      expect(retried.status).toBe(200);
      expect(retried.replayed).toBeNull();
      expect(retried.calls[0]!.result!.data).toEqual({ userId });
      const replayed = await mutate(server, tenant, login, key);
      expect(replayed.replayed).toBe('true');
      expect(replayed.text).toBe(retried.text);
    });

    it('REST: the same, on POST /v1/logins', async () => {
      const email = uniqueEmail('throttled-rest');
      const password = 'the right password';
      await tenant.caller.users.create({ email, password });
      await blockLogins(email);
      const key = newKey();
      const login = () =>
        tenant.request('/v1/logins', { json: { email, password }, headers: { 'idempotency-key': key } });
      await expectApiError(await login(), 429, 'rate_limited');
      await unblockLogins();
      const retried = await login();
      expect(retried.status).toBe(200);
      expect(retried.headers.get('idempotent-replayed')).toBeNull();
      expect((await login()).headers.get('idempotent-replayed')).toBe('true');
    });
  });
});
