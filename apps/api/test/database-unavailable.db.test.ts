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
  /** What the next transaction does after its callback ran: commit and lose the reply, or roll back. */
  let nextTransaction: 'normal' | 'lose-commit-reply' | 'roll-back' = 'normal';
  // Statements sent straight through postgres.js (`executeHotRows`, prepared) are behind the switch too.
  const behindSwitch = (session: { client?: { unsafe?: (...a: unknown[]) => unknown } }) =>
    new Proxy(session, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== 'client' || !value?.unsafe) return value;
        return new Proxy(value, {
          get(client, clientProp, clientReceiver) {
            const unsafe = Reflect.get(client, clientProp, clientReceiver);
            if (clientProp !== 'unsafe') return unsafe;
            return (...args: unknown[]) => {
              if (passing <= 0) return Promise.reject(connectionClosed());
              passing -= 1;
              return (unsafe as (...a: unknown[]) => unknown).apply(client, args);
            };
          },
        });
      },
    });
  const proxy = new Proxy(db, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === 'session' && value) return behindSwitch(value);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (passing <= 0) return failingQuery(connectionClosed());
        passing -= 1;
        if (prop === 'transaction' && nextTransaction !== 'normal') {
          const mode = nextTransaction;
          nextTransaction = 'normal';
          const [work] = args as [(tx: unknown) => Promise<unknown>];
          const run = (value as (...a: unknown[]) => Promise<unknown>).apply(target, [
            async (tx: unknown) => {
              const result = await work(tx);
              if (mode === 'roll-back') throw connectionClosed();
              return result;
            },
          ]);
          // Committed, but the caller hears what a restart during COMMIT says.
          return mode === 'lose-commit-reply' ? run.then(() => Promise.reject(connectionClosed())) : run;
        }
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
    loseNextCommitReply: () => {
      nextTransaction = 'lose-commit-reply';
    },
    rollBackNextTransaction: () => {
      nextTransaction = 'roll-back';
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

  describe('Idempotency-Key across an outage: a retry with the same key succeeds, and the change happens once', () => {
    const newKey = () => `key-${randomBytes(4).toString('hex')}`;
    async function usersWith(tenant: Tenant, db: Database, email: string) {
      return db
        .select()
        .from(users)
        .where(and(eq(users.projectId, tenant.projectId), eq(users.email, email)));
    }
    async function recordOf(tenant: Tenant, db: Database, key: string) {
      const [record] = await db
        .select()
        .from(idempotencyKeys)
        .where(and(eq(idempotencyKeys.projectId, tenant.projectId), eq(idempotencyKeys.key, key)));
      return record;
    }

    it('the database was away when the request came: 503, nothing of the key is left, and the retry runs', async () => {
      const { tenant, down, up } = await setUp();
      const key = newKey();
      const body = { email: uniqueEmail('outage') };
      down();
      await expectUnavailable(await post(tenant, '/v1/users', body, key));
      up();
      expect(await recordOf(tenant, t.db, key)).toBeUndefined();
      expect((await post(tenant, '/v1/users', body, key)).status).toBe(201);
      const replayed = await post(tenant, '/v1/users', body, key);
      expect(replayed.status).toBe(201);
      expect(replayed.headers.get('idempotent-replayed')).toBe('true');
      expect(await usersWith(tenant, t.db, body.email)).toHaveLength(1);
    });

    it('the change committed but the COMMIT reply was lost: 503, and the retry replays the stored 201', async () => {
      const { tenant, loseNextCommitReply } = await setUp();
      const key = newKey();
      const body = { email: uniqueEmail('lost-reply') };
      loseNextCommitReply();
      await expectUnavailable(await post(tenant, '/v1/users', body, key));
      expect((await recordOf(tenant, t.db, key))?.status).toBe('completed');
      const retried = await post(tenant, '/v1/users', body, key);
      expect(retried.status).toBe(201);
      expect(retried.headers.get('idempotent-replayed')).toBe('true');
      expect(((await retried.json()) as { email: string }).email).toBe(body.email);
      expect(await usersWith(tenant, t.db, body.email)).toHaveLength(1);
    });

    it('the transaction rolled back when the database went away: nothing stays, and the retry runs', async () => {
      const { tenant, rollBackNextTransaction } = await setUp();
      const key = newKey();
      const body = { email: uniqueEmail('rolled-back') };
      rollBackNextTransaction();
      await expectUnavailable(await post(tenant, '/v1/users', body, key));
      expect(await usersWith(tenant, t.db, body.email)).toHaveLength(0);
      expect(await recordOf(tenant, t.db, key)).toBeUndefined();
      expect((await post(tenant, '/v1/users', body, key)).status).toBe(201);
      expect(await usersWith(tenant, t.db, body.email)).toHaveLength(1);
    });

    it('tRPC: a mutation whose transaction rolled back answers 503; its retry runs once, then replays', async () => {
      const { tenant, rollBackNextTransaction } = await setUp();
      const key = newKey();
      const email = uniqueEmail('trpc-outage');
      const create = () =>
        tenant.request('/trpc/users.create?batch=1', { json: { 0: { email } }, headers: { 'idempotency-key': key } });
      rollBackNextTransaction();
      const away = await create();
      expect(away.status).toBe(503);
      expect(away.headers.get('retry-after')).toBe('2');
      const [error] = (await away.json()) as { error: { data: { herald: { code: string } } } }[];
      expect(error!.error.data.herald.code).toBe('service_unavailable');
      expect(await recordOf(tenant, t.db, key)).toBeUndefined();

      const retried = await create();
      expect(retried.status).toBe(200);
      expect(retried.headers.get('idempotent-replayed')).toBeNull();
      const replayed = await create();
      expect(replayed.headers.get('idempotent-replayed')).toBe('true');
      expect(await replayed.text()).toBe(await retried.text());
      expect(await usersWith(tenant, t.db, email)).toHaveLength(1);
    });

    it('the answer and the change commit together: a replay never answers for a change that is not there', async () => {
      const { tenant } = await setUp();
      const key = newKey();
      const body = { email: uniqueEmail('together') };
      const first = await post(tenant, '/v1/users', body, key);
      expect(first.status).toBe(201);
      const record = await recordOf(tenant, t.db, key);
      expect(record?.status).toBe('completed');
      expect(JSON.parse(record!.responseBody!)).toEqual(await first.json());
      expect(await usersWith(tenant, t.db, body.email)).toHaveLength(1);
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
