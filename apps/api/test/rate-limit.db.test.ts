import { describeDb } from '@herald/db/testing';
import { expect, it } from 'vitest';
import type { Tenant } from './harness';
import { createTenant, createTestApp, expectApiError, tenantFor, uniqueEmail } from './harness';

const LIMIT = 5;
const config = { rateLimit: { requests: LIMIT, windowSeconds: 60 } };

/** Mints a portal link with the tenant's key and opens it: the session's cookies. */
async function openPortalSession(tenant: Tenant): Promise<string> {
  const { url } = (await (await tenant.request('/v1/portal-sessions', { json: {} })).json()) as { url: string };
  const opened = await tenant.testApp.app.request('/portal/open', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: new URL(url).searchParams.get('token')! }),
  });
  expect(opened.status).toBe(303);
  return opened.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

describeDb('rate limits through the app', (t) => {
  it('REST, tRPC and writes share a key’s budget; the 429 carries Retry-After and the RateLimit headers', async () => {
    const tenant = await createTenant(t.db, { config });
    // createTenant used the admin token, not this key: the key starts fresh.
    const answers = [
      await tenant.request('/v1/users'),
      await tenant.request('/trpc/users.list'),
      await tenant.request('/v1/users', { json: { email: uniqueEmail() } }),
      await tenant.request('/v1/events'),
      await tenant.request('/v1/users', { json: { email: 'invalid' } }),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 200, 201, 200, 400]);
    for (const [i, response] of answers.entries()) {
      expect(response.headers.get('ratelimit-policy')).toBe(`"default";q=${LIMIT};w=60`);
      expect(response.headers.get('ratelimit')).toMatch(new RegExp(`^"default";r=${LIMIT - 1 - i};t=\\d+$`));
    }

    const limited = await tenant.request('/v1/users', { json: { email: uniqueEmail() } });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(limited.headers.get('ratelimit')).toMatch(/^"default";r=0;t=\d+$/);
    expect(limited.headers.get('x-request-id')).toBeTruthy();
    await expectApiError(limited, 429, 'rate_limited');
    expect((await tenant.request('/trpc/users.list')).status).toBe(429);
    // The refused write did not happen.
    expect((await tenant.caller.users.list()).data).toHaveLength(1);
  });

  // PostgreSQL: API processes share a database (PGlite is one process).
  it.skipIf(t.driver !== 'postgres')(
    'two API processes of one database give a key one budget, not one each, even in a burst',
    async () => {
      // Long windows: aligned to the clock, a window must not end while the test runs.
      const shared = { config: { rateLimit: { requests: 10, windowSeconds: 3600 } }, sharedRateLimits: true };
      const tenant = await createTenant(t.db, shared);
      const other = tenantFor(createTestApp(t.db, shared), tenant.projectId, tenant.apiKey, tenant.apiKeyId);
      const first: number[] = [];
      for (let i = 0; i < 6; i++) first.push((await tenant.request('/v1/api-keys')).status);
      const second: number[] = [];
      for (let i = 0; i < 10; i++) second.push((await other.request('/v1/api-keys')).status);
      expect(first).toEqual(Array(6).fill(200));
      expect(second).toEqual([...Array(4).fill(200), ...Array(6).fill(429)]);
      expect((await tenant.request('/v1/api-keys')).status).toBe(429);

      // Another key, 40 requests at once, half to each process: 10 get through.
      const key = await tenant.caller.apiKeys.create({ name: 'burst' });
      const [a, b] = [tenant.testApp, other.testApp].map((app) => tenantFor(app, tenant.projectId, key.key, key.id));
      const burst = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a! : b!).request('/v1/api-keys')),
      );
      expect(burst.filter((r) => r.status === 200)).toHaveLength(10);
      expect(burst.filter((r) => r.status === 429)).toHaveLength(30);
    },
  );

  it('each API key has its own budget, even within one project', async () => {
    const tenant = await createTenant(t.db, { config });
    const second = await tenant.caller.apiKeys.create({ name: 'second' });
    const other = tenantFor(tenant.testApp, tenant.projectId, second.key, second.id);
    for (let i = 0; i < LIMIT; i++) expect((await tenant.request('/v1/api-keys')).status).toBe(200);
    expect((await tenant.request('/v1/api-keys')).status).toBe(429);
    expect((await other.request('/v1/api-keys')).status).toBe(200);
  });

  it('more keys buy a project no more than its project budget; a batch gets what is left of it', async () => {
    const tenant = await createTenant(t.db, {
      config: { rateLimit: { requests: LIMIT, windowSeconds: 60, projectRequests: LIMIT + 3 } },
    });
    const keys = await Promise.all(['second', 'third'].map((name) => tenant.caller.apiKeys.create({ name })));
    const [second, third] = keys.map((k) => tenantFor(tenant.testApp, tenant.projectId, k.key, k.id));
    for (let i = 0; i < LIMIT; i++) expect((await tenant.request('/v1/api-keys')).status).toBe(200);
    expect((await second!.request('/v1/api-keys')).status).toBe(200);
    // Two calls left in the project's window: a batch of three runs two.
    const batch = await second!.request('/trpc/users.list,users.list,users.list?batch=1&input={}');
    const calls = (await batch.json()) as { error?: { data?: { code?: string } } }[];
    expect(calls.map((call) => call.error?.data?.code ?? 'ok')).toEqual(['ok', 'ok', 'TOO_MANY_REQUESTS']);
    const limited = await third!.request('/v1/api-keys');
    await expectApiError(limited, 429, 'rate_limited');
    // Refused by the project's budget: none of the third key's own was spent.
    expect(limited.headers.get('ratelimit')).toMatch(new RegExp(`^"default";r=${LIMIT};t=\\d+, "project";r=0;t=\\d+$`));
  });

  it('made-up keys cannot buy fresh budgets: unknown credentials share the caller’s address budget', async () => {
    const { app } = createTestApp(t.db, { config });
    const statuses = [];
    for (let i = 0; i < LIMIT + 2; i++) {
      const response = await app.request('/v1/users', {
        headers: { authorization: `Bearer sk_guess${i}${'x'.repeat(40)}` },
      });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([...Array(LIMIT).fill(401), 429, 429]);
  });

  it("a portal session has a budget of its own: others spending the address's cannot lock its user out; made-up cookies share the address's", async () => {
    const tenant = await createTenant(t.db, { config });
    const app = tenant.testApp.app;
    const cookie = await openPortalSession(tenant);
    // Someone else at the same address (every browser behind one proxy) spends its budget…
    for (let i = 0; i < LIMIT + 1; i++) await app.request('/v1/users');
    expect(
      (await app.request('/trpc/endpoints.list', { headers: { cookie: 'herald_portal=hps_madeup' } })).status,
    ).toBe(429);
    // …and the portal user's session still answers, from its own budget.
    const listed = await app.request('/trpc/endpoints.list', { headers: { cookie } });
    expect(listed.status).toBe(200);
    expect(listed.headers.get('ratelimit')).toMatch(new RegExp(`^"default";r=${LIMIT - 1};t=\\d+$`));
  });

  it("a project's portal sessions share a project budget of their own: more links buy no more, and the keys keep theirs", async () => {
    const tenant = await createTenant(t.db, {
      config: { rateLimit: { requests: LIMIT, windowSeconds: 60, projectRequests: LIMIT + 1 } },
    });
    const app = tenant.testApp.app;
    const [first, second] = [await openPortalSession(tenant), await openPortalSession(tenant)];
    const list = (cookie: string) => app.request('/trpc/endpoints.list', { headers: { cookie } });
    for (let i = 0; i < LIMIT; i++) expect((await list(first)).status).toBe(200);
    // The second session has its own LIMIT, but the sessions' project budget has one call left.
    expect((await list(second)).status).toBe(200);
    const refused = await list(second);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('ratelimit')).toMatch(/"project";r=0;t=\d+$/);
    // The key spent 2 of its project's LIMIT + 1 (the links): the sessions took none of it.
    for (let i = 0; i < LIMIT - 2; i++) expect((await tenant.request('/v1/api-keys')).status).toBe(200);
  });

  it("a portal link's door, which anyone may knock on, answers within the address's budget", async () => {
    const { app } = createTestApp(t.db, { config });
    const statuses = [];
    for (let i = 0; i < LIMIT + 1; i++) statuses.push((await app.request(`/portal/open?token=hpl_guess${i}`)).status);
    expect(statuses).toEqual([...Array(LIMIT).fill(404), 429]);
    const posted = await app.request('/portal/open', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=hpl_guess',
    });
    expect(posted.status).toBe(429);
  });

  it('health checks are not rate limited', async () => {
    const { app } = createTestApp(t.db, { config: { rateLimit: { requests: 1, windowSeconds: 60 } } });
    for (let i = 0; i < 3; i++) expect((await app.request('/healthz')).status).toBe(200);
  });
});
