import { randomBytes } from 'node:crypto';
import type { Database } from '@herald/db';
import { createDb, idempotencyKeys, users } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { TRPCError } from '@trpc/server';
import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createApp } from '../src/app';
import type { Tenant } from './harness';
import { createTenant, expectApiError, expectJson, uniqueEmail } from './harness';

/** What postgres.js rejects a query with when PostgreSQL restarts under it. */
const connectionClosed = () =>
  Object.assign(new Error('write CONNECTION_CLOSED 127.0.0.1:5432'), {
    code: 'CONNECTION_CLOSED',
    errno: 'CONNECTION_CLOSED',
  });

/** A query builder chain that rejects when awaited, whatever is chained on it. */
function failingQuery(error: Error): unknown {
  const rejected = Promise.reject(error);
  rejected.catch(() => {});
  return new Proxy(() => {}, {
    get: (_, prop) =>
      prop === 'then' || prop === 'catch' || prop === 'finally'
        ? (rejected[prop] as (...args: unknown[]) => unknown).bind(rejected)
        : () => failingQuery(error),
    apply: () => failingQuery(error),
  });
}

/**
 * The test database behind a switch. Every query the app starts on it (a
 * select, an insert, a transaction…) counts as one call; once the switch
 * is down, calls reject as they do while PostgreSQL restarts.
 */
function switchableDb(db: Database) {
  let passing = Number.POSITIVE_INFINITY;
  const proxy = new Proxy(db, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (passing <= 0) return failingQuery(connectionClosed());
        passing -= 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    db: proxy,
    down: () => {
      passing = 0;
    },
    up: () => {
      passing = Number.POSITIVE_INFINITY;
    },
    /** The next `calls` queries run; every one after them fails. */
    failAfter: (calls: number) => {
      passing = calls;
    },
  };
}

async function expectUnavailable(response: Response) {
  expect(response.headers.get('retry-after')).toBe('2');
  const error = await expectApiError(response, 503, 'service_unavailable');
  expect(error.message).toMatch(/database/i);
}

function post(tenant: Tenant, path: string, json: unknown, idempotencyKey?: string) {
  return tenant.request(path, { json, ...(idempotencyKey ? { headers: { 'idempotency-key': idempotencyKey } } : {}) });
}

describeDb('a database that is away answers 503 with Retry-After, never 500', (t) => {
  async function setUp() {
    const sw = switchableDb(t.db);
    const tenant = await createTenant(sw.db, { config: { apiKeyCacheMs: 60_000 } });
    // The key is verified (and cached) while the database is up, so requests reach the procedures.
    await expectJson(await tenant.request('/v1/users'), 200);
    return { ...sw, tenant };
  }

  it('REST: a procedure whose queries fail answers 503 service_unavailable with Retry-After', async () => {
    const { tenant, down } = await setUp();
    down();
    await expectUnavailable(await tenant.request('/v1/users'));
    await expectUnavailable(await post(tenant, '/v1/users', { email: uniqueEmail() }));
    await expectUnavailable(await tenant.request('/v1/events'));
  });

  it('REST: middleware queries (idempotency record, an API key not yet cached) answer 503 too', async () => {
    const { tenant, down } = await setUp();
    down();
    await expectUnavailable(
      await post(tenant, '/v1/users', { email: uniqueEmail() }, `key-${randomBytes(4).toString('hex')}`),
    );
    const unknownKey = await tenant.testApp.app.request('/v1/users', {
      headers: { authorization: `Bearer sk_${randomBytes(24).toString('base64url')}` },
    });
    await expectUnavailable(unknownKey);
  });

  it('tRPC: 503 with Retry-After and the same machine-readable error; the caller throws SERVICE_UNAVAILABLE', async () => {
    const { tenant, down } = await setUp();
    down();
    const response = await tenant.request('/trpc/users.list');
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('2');
    const body = (await response.json()) as { error: { data: { code: string; herald: { code: string } } } };
    expect(body.error.data.code).toBe('SERVICE_UNAVAILABLE');
    expect(body.error.data.herald.code).toBe('service_unavailable');
    const mutation = await tenant.request('/trpc/users.create', { json: { email: uniqueEmail() } });
    expect(mutation.status).toBe(503);
    expect(mutation.headers.get('retry-after')).toBe('2');
    await expect(tenant.caller.users.list({})).rejects.toSatisfy(
      (e) => e instanceof TRPCError && e.code === 'SERVICE_UNAVAILABLE',
    );
  });

  it('/readyz answers 503 while the database is away and 200 once it is back', async () => {
    const { tenant, down, up } = await setUp();
    const { app } = tenant.testApp;
    down();
    const away = await app.request('/readyz');
    expect(away.status).toBe(503);
    expect(await away.json()).toEqual({ status: 'unavailable', reason: 'database unreachable' });
    up();
    expect((await app.request('/readyz')).status).toBe(200);
  });

  it('/readyz answers 503 within its bound when the database never answers', async () => {
    const hanging = new Proxy(t.db, {
      get: (target, prop, receiver) =>
        prop === 'execute' ? () => new Promise(() => {}) : Reflect.get(target, prop, receiver),
    });
    const started = Date.now();
    const response = await createApp({ db: hanging }).request('/readyz');
    expect(response.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  describe('Idempotency-Key across an outage: a retry with the same key succeeds', () => {
    it('when the database went away after the key was claimed (the claim could not be removed)', async () => {
      const { tenant, failAfter, up, db } = await setUp();
      const key = `key-${randomBytes(4).toString('hex')}`;
      const body = { email: uniqueEmail('outage') };
      // Claim (delete expired + insert) runs; the procedure's transaction and the claim's removal fail.
      failAfter(2);
      await expectUnavailable(await post(tenant, '/v1/users', body, key));
      up();
      const retried = await post(tenant, '/v1/users', body, key);
      expect(retried.status).toBe(201);
      const replayed = await post(tenant, '/v1/users', body, key);
      expect(replayed.status).toBe(201);
      expect(replayed.headers.get('idempotent-replayed')).toBe('true');
      const created = await db
        .select()
        .from(users)
        .where(and(eq(users.projectId, tenant.projectId), eq(users.email, body.email)));
      expect(created).toHaveLength(1);
    });

    it('when the change committed but its record could not be completed: the answer stays 201 and is replayed later', async () => {
      const { tenant, failAfter, up, db } = await setUp();
      const key = `key-${randomBytes(4).toString('hex')}`;
      const body = { email: uniqueEmail('late') };
      // Claim and transaction run; completing the record fails.
      failAfter(3);
      const first = await post(tenant, '/v1/users', body, key);
      expect(first.status).toBe(201);
      up();
      const replayed = await post(tenant, '/v1/users', body, key);
      expect(replayed.status).toBe(201);
      expect(replayed.headers.get('idempotent-replayed')).toBe('true');
      expect(await replayed.text()).toBe(await first.text());
      const [record] = await db
        .select()
        .from(idempotencyKeys)
        .where(and(eq(idempotencyKeys.projectId, tenant.projectId), eq(idempotencyKeys.key, key)));
      expect(record?.status).toBe('completed');
    });

    it('the record is written in the background once the database is back, without a retry', async () => {
      const { tenant, failAfter, up, db } = await setUp();
      const key = `key-${randomBytes(4).toString('hex')}`;
      failAfter(3);
      expect((await post(tenant, '/v1/users', { email: uniqueEmail('bg') }, key)).status).toBe(201);
      up();
      const scope = and(eq(idempotencyKeys.projectId, tenant.projectId), eq(idempotencyKeys.key, key));
      const deadline = Date.now() + 5_000;
      let status: string | undefined;
      while (Date.now() < deadline) {
        [{ status } = { status: undefined }] = await db.select().from(idempotencyKeys).where(scope);
        if (status === 'completed') break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(status).toBe('completed');
    });
  });
});

describe('an API whose PostgreSQL refuses connections', () => {
  it('answers 503 with Retry-After at once, on REST, tRPC and /readyz', async () => {
    // Nothing listens on port 1: every connection is refused, as while PostgreSQL restarts.
    const herald = await createDb({ url: 'postgres://postgres@127.0.0.1:1/none', migrate: false });
    try {
      const app = createApp({ db: herald.db });
      const authorization = `Bearer sk_${randomBytes(24).toString('base64url')}`;
      const started = Date.now();
      await expectUnavailable(await app.request('/v1/users', { headers: { authorization } }));
      const trpc = await app.request('/trpc/users.list', { headers: { authorization } });
      expect(trpc.status).toBe(503);
      expect(trpc.headers.get('retry-after')).toBe('2');
      expect((await app.request('/readyz')).status).toBe(503);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await herald.close();
    }
  });
});
