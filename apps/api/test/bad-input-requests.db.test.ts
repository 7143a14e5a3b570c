import { newId } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restProcedures } from '../src/rest/procedures';
import { anyJsonArb, hostileStringArb } from './bad-input.arbitraries';
import {
  authorizationArb,
  contentTypeArb,
  expectCleanRestAnswer,
  fuzzCount,
  headerValueArb,
  invalidJsonArb,
  nestedJson,
  tooDeepArb,
} from './bad-input-fuzz';
import type { Tenant } from './harness';
import { ADMIN_TOKEN, createTenant, uniqueEmail } from './harness';

/**
 * Whole generated requests on every REST route: path ids, query strings,
 * headers (content type, Idempotency-Key, Authorization, odd bytes) and
 * bodies, in-process. Every answer is < 500 in the error shape; deep JSON
 * and out-of-range timestamps answer 400.
 */

const RUNS_PER_ROUTE = 200;

const routes = restProcedures().map((p) => ({
  ...p,
  key: `${p.openapi.method} ${p.openapi.path}`,
  fields: Object.keys((p.inputSchema as { shape?: Record<string, unknown> } | undefined)?.shape ?? {}),
}));

type Route = (typeof routes)[number];

interface Ids {
  user: string;
  endpoint: string;
  delivery: string;
  event: string;
}

/** A path id: junk, ids of another kind, ids of nothing, and (not on DELETE) the real one. */
function pathIdArb(route: Route, ids: Ids) {
  const real = route.openapi.path.startsWith('/users')
    ? ids.user
    : route.openapi.path.startsWith('/deliveries')
      ? ids.delivery
      : route.openapi.path.startsWith('/events')
        ? ids.event
        : ids.endpoint;
  const raw = fc.constantFrom('%zz', '..', '.', '%', '%00', '%2F', 'usr_', 'a%20b', 'x'.repeat(2000));
  const encoded = fc
    .oneof(
      hostileStringArb,
      fc.constantFrom(ids.user, ids.endpoint, ids.delivery, ids.event, newId('user'), newId('endpoint'), 'ep_1', '0'),
      ...(route.openapi.method === 'DELETE' ? [] : [fc.constant(real)]),
    )
    .filter((id) => id !== '' && encodable(id))
    .map(encodeURIComponent);
  return fc.oneof(raw, encoded);
}

/** Lone surrogates cannot be percent-encoded (URIError): no client can send them in a URL. */
function encodable(text: string): boolean {
  try {
    encodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}

const queryArb = fc.oneof(
  fc
    .array(
      fc.tuple(
        fc.oneof(fc.constantFrom('limit', 'after', 'type', 'cursor', 'input', 'batch', '__proto__', 'id'), fc.string()),
        fc.oneof(
          fc.constantFrom('-1', '0', '1e3', '99999999999999999999', 'NaN', '', ' 5', '0x10', 'evt_', 'user.created'),
          hostileStringArb,
        ),
      ),
      { maxLength: 4 },
    )
    .map((pairs) => new URLSearchParams(pairs).toString()),
  fc.constantFrom('%', '&&&', '=', 'limit', 'limit=%zz', 'a=1&a=2&a=3', `limit=${'9'.repeat(400)}`),
);

/** A body for a write route: fields from its schema with any value, deep JSON, not JSON, timestamps out of range. */
function bodyArb(route: Route) {
  const fieldArb =
    route.fields.length > 0 ? fc.constantFrom(...route.fields) : fc.constantFrom('name', 'since', 'metadata');
  return fc.oneof(
    fc
      .dictionary(fc.oneof(fieldArb, fc.string({ maxLength: 8 })), anyJsonArb, { maxKeys: 3 })
      .map((body) => ({ kind: 'any' as const, text: JSON.stringify(body) })),
    fc.tuple(fieldArb, tooDeepArb).map(([field, { depth, style }]) => ({
      kind: 'deep' as const,
      text: `{"${field}":${nestedJson(depth - 1, style)}}`,
    })),
    invalidJsonArb.map((text) => ({ kind: 'not json' as const, text })),
    fc
      .constantFrom('0000-01-01T00:00:00Z', '1969-12-31T23:59:59Z', '9999-12-31T23:59:59Z', '+275760-09-13T00:00:00Z')
      .map((since) => ({ kind: 'timestamp' as const, text: JSON.stringify({ since }) })),
  );
}

function requestArb(route: Route, ids: Ids, tenant: Tenant) {
  const isWrite = route.openapi.method === 'POST' || route.openapi.method === 'PATCH';
  return fc.record({
    params: fc.tuple(...route.pathParams.map(() => pathIdArb(route, ids))),
    useRealIds: fc.boolean(),
    query: fc.option(queryArb, { nil: undefined }),
    body: isWrite ? fc.option(bodyArb(route), { nil: undefined, freq: 4 }) : fc.constant(undefined),
    contentType: fc.option(contentTypeArb, { nil: undefined, freq: 2 }),
    authorization: fc.option(authorizationArb(tenant.apiKey, ADMIN_TOKEN), { nil: undefined, freq: 2 }),
    idempotencyKey: fc.option(headerValueArb, { nil: undefined, freq: 3 }),
    requestId: fc.option(headerValueArb, { nil: undefined, freq: 4 }),
  });
}

describeDb('generated bad requests on every REST route (fast-check)', (t) => {
  let tenant: Tenant;
  let ids: Ids;

  beforeAll(async () => {
    tenant = await createTenant(t.db, { config: { bodyLimitBytes: 64 * 1024 } });
    const { endpoint } = await tenant.caller.endpoints.create({ url: 'https://example.com/hook' });
    const endpointId = endpoint.id;
    const user = await tenant.caller.users.create({ email: uniqueEmail('fuzz') });
    const delivery = await t.db.query.deliveries.findFirst({ where: (d, { eq }) => eq(d.endpointId, endpointId) });
    const event = await t.db.query.events.findFirst({ where: (e, { eq }) => eq(e.projectId, tenant.projectId) });
    ids = { user: user.id, endpoint: endpointId, delivery: delivery!.id, event: event!.id };
  });

  afterAll(() => {
    console.log(`bad-input-requests [${t.driver}]: ${fuzzCount.runs} generated requests on ${routes.length} routes`);
  });

  it('covers every route', () => {
    expect(routes.length).toBeGreaterThanOrEqual(20);
  });

  describe.each(routes.map((r) => [r.key, r] as const))('%s', (_key, route) => {
    it('answers every generated request below 500, in the error shape', async () => {
      await fc.assert(
        fc.asyncProperty(requestArb(route, ids, tenant), async (generated) => {
          let n = 0;
          const path = route.openapi.path.replace(/\{(\w+)\}/g, () => generated.params[n++]!);
          const url = `/v1${path}${generated.query === undefined ? '' : `?${generated.query}`}`;
          const headers: Record<string, string> = {
            authorization:
              generated.authorization ??
              (route.openapi.auth === 'admin' ? `Bearer ${ADMIN_TOKEN}` : `Bearer ${tenant.apiKey}`),
          };
          const { body } = generated;
          const jsonKind = body?.kind === 'deep' || body?.kind === 'timestamp';
          if (jsonKind) headers['content-type'] = 'application/json';
          else if (generated.contentType !== undefined) headers['content-type'] = generated.contentType;
          else if (body) headers['content-type'] = 'application/json';
          if (generated.idempotencyKey !== undefined) headers['idempotency-key'] = generated.idempotencyKey;
          if (generated.requestId !== undefined) headers['x-request-id'] = generated.requestId;
          const response = await tenant.testApp.app.request(url, {
            method: route.openapi.method,
            headers,
            ...(body ? { body: body.text } : {}),
          });
          const label = `${route.openapi.method} ${url.slice(0, 200)} ${JSON.stringify(headers).slice(0, 300)} ${body?.text.slice(0, 200)}`;
          const error = await expectCleanRestAnswer(response, label);
          if (body?.kind === 'deep') {
            expect({ status: response.status, message: error.message }, label).toEqual({
              status: 400,
              message: 'JSON input may be nested at most 32 levels deep',
            });
          }
        }),
        { numRuns: RUNS_PER_ROUTE },
      );
    });
  });

  it('recover answers 400 for every since out of range, never 500', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.integer({ min: 0, max: 1969 }).map((year) => `${String(year).padStart(4, '0')}-01-01T00:00:00Z`),
          fc.integer({ min: 2200, max: 9999 }).map((year) => `${year}-06-30T12:00:00+14:00`),
        ),
        async (since) => {
          const response = await tenant.request(`/v1/endpoints/${ids.endpoint}/recover`, { json: { since } });
          const error = await expectCleanRestAnswer(response, since);
          expect({ since, status: response.status, code: error.code }).toEqual({
            since,
            status: 400,
            code: 'validation_error',
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});
