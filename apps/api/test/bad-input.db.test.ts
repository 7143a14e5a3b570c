import { endpoints, newId } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { restProcedures } from '../src/rest/procedures';
import type { BadBody, InputSchema } from './bad-input.arbitraries';
import { anyFieldsArb, badBodyArb, expectedRefusal } from './bad-input.arbitraries';
import type { Tenant } from './harness';
import { ADMIN_TOKEN, apiErrorBodySchema, createTenant, uniqueEmail } from './harness';

/**
 * Generated bad bodies on every write route: a clear 4xx with the error
 * body, never a 5xx. Schemas come from the procedures themselves, so a new
 * field or route is covered without touching this file (routes need a
 * fixture below; a test says so).
 */

const BODY_LIMIT = 16 * 1024;

interface Ids {
  user: string;
  endpoint: string;
  delivery: string;
}

interface Fixture {
  params?: (ids: Ids) => Record<string, string>;
  /** A valid body: each generated value replaces one of its fields. */
  body: Record<string, unknown>;
  /** Runs for the "any values" property: valid bodies of these routes hash a password (~100-300 ms). */
  anyValueRuns?: number;
}

const fixtures: Record<string, Fixture> = {
  'POST /projects': { body: { name: 'project' } },
  'POST /api-keys': { body: { name: 'key' } },
  'POST /users': { body: { email: 'valid@example.com', name: 'Valid', roles: ['member'], metadata: { a: 1 } } },
  'PATCH /users/{id}': { params: (ids) => ({ id: ids.user }), body: { name: 'Valid' } },
  'POST /users/{id}/password': {
    params: (ids) => ({ id: ids.user }),
    body: { password: 'long enough password' },
    anyValueRuns: 4,
  },
  'POST /logins': { body: { email: 'valid@example.com', password: 'some password' }, anyValueRuns: 4 },
  'POST /endpoints': { body: { url: 'https://example.com/hook' } },
  'POST /endpoints/listen': { body: { forwardTo: 'http://localhost:3000/webhooks' } },
  'PATCH /endpoints/{id}': { params: (ids) => ({ id: ids.endpoint }), body: { description: 'Valid' } },
  'POST /endpoints/{id}/rotate-secret': { params: (ids) => ({ id: ids.endpoint }), body: { graceSeconds: 60 } },
  'POST /endpoints/{id}/test': { params: (ids) => ({ id: ids.endpoint }), body: { eventType: 'user.created' } },
  'POST /endpoints/{id}/recover': { params: (ids) => ({ id: ids.endpoint }), body: { since: '2020-01-01T00:00:00Z' } },
  'POST /deliveries/{id}/retry': { params: (ids) => ({ id: ids.delivery }), body: {} },
  'POST /portal-sessions': { body: {} },
  'PATCH /portal-settings': { body: { frameAncestors: ['https://dashboard.example.com'] } },
};

/**
 * Routes outside this suite's remit that still answer 500 to text PostgreSQL
 * cannot store (NUL in `url`/`description`, a lone surrogate in a header
 * value): reported to the endpoints owner. Remove once they refine those
 * strings with `isStorableText` (src/services/text.ts).
 */
const awaitingStorableTextFix = new Set<string>();

const writeRoutes = restProcedures()
  .filter((p) => p.openapi.method === 'POST' || p.openapi.method === 'PATCH')
  .map((p) => ({
    ...p,
    key: `${p.openapi.method} ${p.openapi.path}`,
    schema: p.inputSchema as InputSchema,
  }));

function restPath(path: string, params: Record<string, string>) {
  return `/v1${path.replace(/\{(\w+)\}/g, (_, name: string) => params[name]!)}`;
}

describeDb('bad input on write routes (fast-check)', (t) => {
  let tenant: Tenant;
  let ids: Ids;

  beforeAll(async () => {
    tenant = await createTenant(t.db, { config: { bodyLimitBytes: BODY_LIMIT } });
    const endpointId = newId('endpoint');
    await t.db
      .insert(endpoints)
      .values({ id: endpointId, projectId: tenant.projectId, url: 'https://example.com/hook' });
    const user = await tenant.caller.users.create({ email: uniqueEmail('target') });
    const delivery = await t.db.query.deliveries.findFirst({ where: (d, { eq }) => eq(d.endpointId, endpointId) });
    ids = { user: user.id, endpoint: endpointId, delivery: delivery!.id };
  });

  function send(
    route: (typeof writeRoutes)[number],
    body: string,
    contentType = 'application/json',
    transport: 'rest' | 'trpc' = 'rest',
  ) {
    const headers = {
      'content-type': contentType,
      ...(route.openapi.auth === 'admin' ? { authorization: `Bearer ${ADMIN_TOKEN}` } : {}),
    };
    const params = fixtures[route.key]!.params?.(ids) ?? {};
    if (transport === 'rest')
      return tenant.request(restPath(route.openapi.path, params), { method: route.openapi.method, body, headers });
    // tRPC takes the path parameters in the body.
    let trpcBody = body;
    try {
      const parsed: unknown = JSON.parse(body);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
        trpcBody = JSON.stringify({ ...parsed, ...params });
    } catch {
      // Invalid JSON stays as it is.
    }
    return tenant.request(`/trpc/${route.path}`, { method: 'POST', body: trpcBody, headers });
  }

  it('has a fixture, with a valid body, for every write route', () => {
    expect(Object.keys(fixtures)).toEqual(expect.arrayContaining(writeRoutes.map((r) => r.key)));
    for (const route of writeRoutes) {
      const fixture = fixtures[route.key]!;
      const input = { ...fixture.body, ...fixture.params?.(ids) };
      expect(route.schema.safeParse(input).success, route.key).toBe(true);
    }
  });

  describe.each(writeRoutes.map((r) => [r.key, r] as const))('%s', (_key, route) => {
    it('refuses generated bad bodies with the right 4xx and the error body, over REST', async () => {
      const fixture = fixtures[route.key]!;
      await fc.assert(
        fc.asyncProperty(
          badBodyArb(route.schema, fixture.body, fixture.params?.(ids) ?? {}, BODY_LIMIT),
          async (bad: BadBody) => {
            const response = await send(
              route,
              bad.body,
              bad.kind === 'not JSON content' ? bad.contentType : 'application/json',
            );
            const text = await response.text();
            const expected = expectedRefusal(bad);
            expect({ status: response.status, text }).toMatchObject({ status: expected.status });
            const error = apiErrorBodySchema.parse(JSON.parse(text)).error;
            expect(expected.codes).toContain(error.code);
            if (bad.kind === 'wrong value' || bad.kind === 'unknown key')
              expect(error.details).toEqual(expect.any(Array));
          },
        ),
        { numRuns: 60 },
      );
    });

    it('refuses them over tRPC too, never with a 5xx', async () => {
      const fixture = fixtures[route.key]!;
      await fc.assert(
        fc.asyncProperty(
          badBodyArb(route.schema, fixture.body, fixture.params?.(ids) ?? {}, BODY_LIMIT),
          async (bad: BadBody) => {
            const response = await send(
              route,
              bad.body,
              bad.kind === 'not JSON content' ? bad.contentType : 'application/json',
              'trpc',
            );
            const body = (await response.json()) as { error: { data?: { herald?: { code: string } }; code?: unknown } };
            expect({ status: response.status, body }).toMatchObject({ status: expectedRefusal(bad).status });
            // Middleware answers in REST shape; tRPC's own errors carry Herald's code in data.herald.
            expect(body.error.data?.herald?.code ?? body.error.code).toEqual(expect.any(String));
          },
        ),
        { numRuns: 20 },
      );
    });

    it.skipIf(awaitingStorableTextFix.has(route.key))(
      'takes any values in its fields, hostile strings included, without a 5xx',
      async () => {
        const fixture = fixtures[route.key]!;
        await fc.assert(
          fc.asyncProperty(anyFieldsArb(route.schema, fixture.body, fixture.params?.(ids) ?? {}), async (body) => {
            const response = await send(route, JSON.stringify(body));
            const text = await response.text();
            expect({ status: response.status, text }).toMatchObject({
              status: expect.toSatisfy((s: number) => s < 500),
            });
            if (response.status >= 400) apiErrorBodySchema.parse(JSON.parse(text));
          }),
          { numRuns: fixture.anyValueRuns ?? 40 },
        );
      },
    );
  });
});
