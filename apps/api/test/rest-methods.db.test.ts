import { idempotencyKeys } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { eq } from 'drizzle-orm';
import { beforeAll, expect, it } from 'vitest';
import { restProcedures } from '../src/rest/procedures';
import type { Tenant } from './harness';
import { ADMIN_TOKEN, createTenant, expectJson } from './harness';

/*
 * A REST path that exists answers a method it does not serve 405 with `Allow` (RFC 9110 §15.5.6),
 * in the error shape; a path that does not exist stays 404.
 */

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** True when `pattern`'s parameters can take `path`'s segments (`/endpoints/{id}` covers `/endpoints/listen`). */
function covers(pattern: string, path: string): boolean {
  const a = pattern.split('/');
  const b = path.split('/');
  return a.length === b.length && a.every((segment, i) => segment === b[i] || /^\{\w+\}$/.test(segment));
}

describeDb('REST methods', (t) => {
  let tenant: Tenant;
  beforeAll(async () => {
    tenant = await createTenant(t.db);
  });

  it('answers 405 with Allow for every method a path does not serve', async () => {
    const byPath = new Map<string, { methods: Set<string>; admin: boolean }>();
    for (const { openapi } of restProcedures()) {
      const entry = byPath.get(openapi.path) ?? { methods: new Set<string>(), admin: false };
      entry.methods.add(openapi.method);
      entry.admin ||= openapi.auth === 'admin';
      byPath.set(openapi.path, entry);
    }
    expect(byPath.size).toBeGreaterThanOrEqual(15);
    for (const [path, { methods, admin }] of byPath) {
      const url = `/v1${path.replace(/\{\w+\}/g, 'x_00000000000000000000000000')}`;
      const authorization = `Bearer ${admin ? ADMIN_TOKEN : tenant.apiKey}`;
      const allowed = [...methods, ...(methods.has('GET') ? ['HEAD'] : [])].sort();
      // `GET /v1/endpoints/listen` is `GET /v1/endpoints/{id}` with the id "listen": served, not 405.
      const servedElsewhere = (method: string) =>
        [...byPath].some(([other, entry]) => other !== path && entry.methods.has(method) && covers(other, path));
      for (const method of METHODS.filter((m) => !methods.has(m) && !servedElsewhere(m))) {
        const response = await tenant.testApp.app.request(url, { method, headers: { authorization } });
        const label = `${method} ${url}`;
        expect({ label, status: response.status }).toEqual({ label, status: 405 });
        expect(response.headers.get('allow')?.split(', ').sort(), label).toEqual(allowed);
        const body = await expectJson<{ error: { code: string } }>(response, 405);
        expect(body.error.code, label).toBe('method_not_allowed');
      }
    }
  });

  it("answers 405 on the listen stream's paths too, and never stores a 405 under an Idempotency-Key", async () => {
    const endpoint = 'ep_00000000000000000000000000';
    const post = await tenant.request(`/v1/endpoints/${endpoint}/listen`, { method: 'POST', json: {} });
    expect(post.headers.get('allow')).toBe('GET'); // not HEAD: a stream nobody reads (cli-listen-relay.db.test.ts);
    expect((await expectJson<{ error: { code: string } }>(post, 405)).error.code).toBe('method_not_allowed');
    const get = await tenant.request(`/v1/endpoints/${endpoint}/listen/attempts`);
    expect(get.headers.get('allow')).toBe('POST');
    expect(get.status).toBe(405);
    const keyed = await tenant.request('/v1/event-types', { json: {}, headers: { 'idempotency-key': 'wrong-method' } });
    expect(keyed.status).toBe(405);
    const stored = await t.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, 'wrong-method'));
    expect(stored).toEqual([]);
  });

  it('still serves the routes, HEAD on a GET route, and 404 for a path that does not exist', async () => {
    const user = await tenant.caller.users.create({ email: `methods.${Date.now()}@example.com` });
    expect((await tenant.request(`/v1/users/${user.id}`)).status).toBe(200);
    const head = await tenant.request(`/v1/users/${user.id}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const patched = await tenant.request(`/v1/users/${user.id}`, { method: 'PATCH', json: { name: 'Renamed' } });
    expect(patched.status).toBe(200);
    const missing = await tenant.request('/v1/no-such-thing', { method: 'PUT' });
    expect((await expectJson<{ error: { code: string } }>(missing, 404)).error.code).toBe('not_found');
  });
});
