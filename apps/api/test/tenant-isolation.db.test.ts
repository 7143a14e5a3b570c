import { deliveries, endpointSecrets, endpoints, newId } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { restProcedures } from '../src/rest/procedures';
import type { Tenant } from './harness';
import { createTenant, eventsOf, expectApiError, expectJson, uniqueEmail } from './harness';

/**
 * OWASP API1 (broken object-level authorization): every route that names an
 * object, called with another project's key, answers 404, exactly as for an
 * id that does not exist, and changes nothing.
 */

interface Owned {
  userId: string;
  email: string;
  apiKeyId: string;
  eventId: string;
  endpointId: string;
  deliveryId: string;
}

type Route = { method: string; path: (o: Owned) => string; json?: unknown };

/** Keyed like `restProcedures()`, so a new route with a path parameter must be added here. */
const objectRoutes: Record<string, Route> = {
  'GET /users/{id}': { method: 'GET', path: (o) => `/v1/users/${o.userId}` },
  'PATCH /users/{id}': { method: 'PATCH', path: (o) => `/v1/users/${o.userId}`, json: { name: 'hijacked' } },
  'POST /users/{id}/password': {
    method: 'POST',
    path: (o) => `/v1/users/${o.userId}/password`,
    json: { password: 'hijacked password' },
  },
  'DELETE /users/{id}': { method: 'DELETE', path: (o) => `/v1/users/${o.userId}` },
  'DELETE /api-keys/{id}': { method: 'DELETE', path: (o) => `/v1/api-keys/${o.apiKeyId}` },
  'GET /events/{id}': { method: 'GET', path: (o) => `/v1/events/${o.eventId}` },
  'GET /endpoints/{id}': { method: 'GET', path: (o) => `/v1/endpoints/${o.endpointId}` },
  'PATCH /endpoints/{id}': {
    method: 'PATCH',
    path: (o) => `/v1/endpoints/${o.endpointId}`,
    json: { description: 'hijacked' },
  },
  'DELETE /endpoints/{id}': { method: 'DELETE', path: (o) => `/v1/endpoints/${o.endpointId}` },
  'GET /endpoints/{id}/secret': { method: 'GET', path: (o) => `/v1/endpoints/${o.endpointId}/secret` },
  'POST /endpoints/{id}/rotate-secret': {
    method: 'POST',
    path: (o) => `/v1/endpoints/${o.endpointId}/rotate-secret`,
    json: {},
  },
  'POST /endpoints/{id}/test': {
    method: 'POST',
    path: (o) => `/v1/endpoints/${o.endpointId}/test`,
    json: { eventType: 'user.created' },
  },
  'POST /endpoints/{id}/recover': {
    method: 'POST',
    path: (o) => `/v1/endpoints/${o.endpointId}/recover`,
    json: { since: '2020-01-01T00:00:00Z' },
  },
  'GET /endpoints/{id}/deliveries': { method: 'GET', path: (o) => `/v1/endpoints/${o.endpointId}/deliveries` },
  'GET /deliveries/{id}': { method: 'GET', path: (o) => `/v1/deliveries/${o.deliveryId}` },
  'POST /deliveries/{id}/retry': { method: 'POST', path: (o) => `/v1/deliveries/${o.deliveryId}/retry` },
  'GET /endpoints/{id}/stats': { method: 'GET', path: (o) => `/v1/endpoints/${o.endpointId}/stats` },
  'GET /deliveries/{id}/request': { method: 'GET', path: (o) => `/v1/deliveries/${o.deliveryId}/request` },
};

const routeKey = (method: string, path: string) => `${method} ${path}`;
const liveRoutes = restProcedures().map((p) => ({ key: routeKey(p.openapi.method, p.openapi.path), ...p }));
const liveObjectRoutes = liveRoutes.filter((r) => r.pathParams.length > 0);
// Project lists (the operator's overview of every project takes the admin token, not a project key).
const liveListRoutes = liveRoutes.filter(
  (r) => r.pathParams.length === 0 && r.openapi.method === 'GET' && r.openapi.auth === 'apiKey',
);

describeDb('tenant isolation', (t) => {
  let owner: Tenant;
  let intruder: Tenant;
  let owned: Owned;

  beforeAll(async () => {
    owner = await createTenant(t.db);
    intruder = await createTenant(t.db, { testApp: owner.testApp });
    // The endpoint exists before the user, so creating the user fans out a delivery.
    const endpointId = newId('endpoint');
    await t.db
      .insert(endpoints)
      .values({ id: endpointId, projectId: owner.projectId, url: 'https://example.com/herald' });
    await t.db
      .insert(endpointSecrets)
      .values({ id: newId('endpointSecret'), endpointId, secret: `whsec_${Buffer.alloc(24, 7).toString('base64')}` });
    const email = uniqueEmail('owned');
    const user = await owner.caller.users.create({ email, name: 'Owner’s user' });
    const key = await owner.caller.apiKeys.create({ name: 'owner second key' });
    const [event] = await eventsOf(owner, 'user.created');
    const [delivery] = await t.db.select().from(deliveries).where(eq(deliveries.endpointId, endpointId));
    owned = { userId: user.id, email, apiKeyId: key.id, eventId: event!.id, endpointId, deliveryId: delivery!.id };
  });

  it('covers every REST route that names an object', () => {
    expect(Object.keys(objectRoutes).sort()).toEqual(expect.arrayContaining(liveObjectRoutes.map((r) => r.key).sort()));
  });

  describe("another project's key → 404 not_found, never the data", () => {
    it.each(liveObjectRoutes.map((r) => r.key))('%s', async (key) => {
      const route = objectRoutes[key];
      expect(route, `add ${key} to objectRoutes`).toBeDefined();
      const response = await intruder.request(route!.path(owned), {
        method: route!.method,
        ...(route!.json === undefined ? {} : { json: route!.json }),
      });
      const text = await response.clone().text();
      await expectApiError(response, 404, 'not_found');
      for (const value of Object.values(owned)) expect(text).not.toContain(value);
    });

    it('over tRPC too', async () => {
      await expect(intruder.caller.users.get({ id: owned.userId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(intruder.caller.users.update({ id: owned.userId, status: 'locked' })).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      await expect(intruder.caller.apiKeys.revoke({ id: owned.apiKeyId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(intruder.caller.events.get({ id: owned.eventId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });
  });

  it.each(liveListRoutes.map((r) => r.key))(
    "%s with another project's key lists none of the owner's objects",
    async (key) => {
      const path = `/v1${key.slice('GET '.length)}`;
      const response = await intruder.request(
        `${path}${path === '/v1/users' ? `?email=${encodeURIComponent(owned.email)}` : ''}`,
      );
      expect(response.status).toBe(200);
      const text = await response.text();
      for (const value of Object.values(owned)) expect(text).not.toContain(value);
    },
  );

  it("a login with another project's user's email is an unknown user, recorded in the caller's project only", async () => {
    const eventsBefore = (await eventsOf(owner)).length;
    await expectApiError(
      await intruder.request('/v1/logins', { json: { email: owned.email, password: 'whatever it is' } }),
      401,
      'invalid_credentials',
    );
    const [failed] = await eventsOf(intruder, 'user.login.failed');
    expect(failed!.data).toMatchObject({ userId: null, reason: 'unknown_user' });
    expect(await eventsOf(owner)).toHaveLength(eventsBefore);
  });

  it("an Idempotency-Key another project used does not replay that project's response", async () => {
    const idempotencyKey = `shared-${owned.userId}`;
    const first = await owner.request('/v1/users', {
      json: { email: uniqueEmail() },
      headers: { 'idempotency-key': idempotencyKey },
    });
    const mine = await expectJson<{ id: string }>(first, 201);
    const theirs = await intruder.request('/v1/users', {
      json: { email: uniqueEmail() },
      headers: { 'idempotency-key': idempotencyKey },
    });
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    expect((await expectJson<{ id: string }>(theirs, 201)).id).not.toBe(mine.id);
  });

  // Last: proves the fixtures were valid (the owner reaches each object) and
  // that the intruder's writes above changed nothing.
  it('the owner still sees every object unchanged and reaches each route', async () => {
    const user = await expectJson<{ name: string; status: string }>(
      await owner.request(`/v1/users/${owned.userId}`),
      200,
    );
    expect(user).toMatchObject({ name: 'Owner’s user', status: 'active' });
    const keys = await expectJson<{ data: { id: string; revokedAt: string | null }[] }>(
      await owner.request('/v1/api-keys'),
      200,
    );
    expect(keys.data.find((k) => k.id === owned.apiKeyId)?.revokedAt).toBeNull();
    expect(await eventsOf(owner, 'user.updated')).toEqual([]);
    expect(await eventsOf(owner, 'user.password.changed')).toEqual([]);
    const [endpoint] = await t.db.select().from(endpoints).where(eq(endpoints.id, owned.endpointId));
    expect(endpoint?.description).toBeNull();

    // Deletions last, so every other route still finds its object.
    const ordered = [...liveObjectRoutes].sort(
      (a, b) => Number(a.openapi.method === 'DELETE') - Number(b.openapi.method === 'DELETE'),
    );
    for (const { key } of ordered) {
      const route = objectRoutes[key]!;
      const response = await owner.request(route.path(owned), {
        method: route.method,
        ...(route.json === undefined ? {} : { json: route.json }),
      });
      expect({ key, status: response.status }).toEqual({
        key,
        status: expect.toSatisfy((s: number) => s >= 200 && s < 300),
      });
    }
  });
});
