import { describeDb } from '@herald/db/testing';
import { afterAll, expect, it } from 'vitest';
import type { RunningServer } from '../src/server';
import { listen } from '../src/server';
import type { Tenant } from './harness';
import { createTenant, withJson } from './harness';

const LIMIT = 12;

/**
 * Every answer carries the request's id and, under `/v1` and `/trpc`, the rate-limit headers,
 * once each, whichever path made it: the hot answers (a procedure's result or error) carry them
 * as plain headers, the others get them added afterwards (middleware-level refusals, the tRPC
 * adapter, routes outside the API). Run in process and over a socket, where @hono/node-server
 * writes plain headers as they are.
 */
for (const transport of ['in process', 'over a socket'] as const)
  describeDb(`answer headers, ${transport}`, (t) => {
    const servers: RunningServer[] = [];
    afterAll(async () => {
      await Promise.all(servers.map((server) => server.close()));
    });

    async function tenant(): Promise<Tenant & { raw: (path: string, init?: RequestInit) => Promise<Response> }> {
      const tenant = await createTenant(t.db, {
        config: { bodyLimitBytes: 1024, rateLimit: { requests: LIMIT, windowSeconds: 60 } },
      });
      if (transport === 'in process') {
        return { ...tenant, raw: (path, init) => Promise.resolve(tenant.testApp.app.request(path, init)) };
      }
      const server = await listen(tenant.testApp.app);
      servers.push(server);
      const authorization = `Bearer ${tenant.apiKey}`;
      return {
        ...tenant,
        request: (path, init) => fetch(`${server.url}${path}`, withJson(init, authorization)),
        raw: (path, init) => fetch(`${server.url}${path}`, init),
      };
    }

    /** One `x-request-id` (a comma would be two joined), and the body's length as Content-Length over a socket. */
    async function expectCommonHeaders(response: Response, rateLimited: boolean) {
      const id = response.headers.get('x-request-id');
      expect(id).toMatch(/^[A-Za-z0-9._:-]+$/);
      if (rateLimited) {
        expect(response.headers.get('ratelimit-policy')).toBe(`"default";q=${LIMIT};w=60`);
        expect(response.headers.get('ratelimit')).toMatch(/^"default";r=\d+;t=\d+$/);
      }
      const body = await response.text();
      if (transport === 'over a socket')
        expect(Number(response.headers.get('content-length'))).toBe(Buffer.byteLength(body));
      return body;
    }

    it('a REST result and a REST error', async () => {
      const tn = await tenant();
      const created = await tn.request('/v1/users', { json: { email: 'answer-headers@example.com' } });
      expect(created.status).toBe(201);
      expect(created.headers.get('content-type')).toBe('application/json');
      const user = JSON.parse(await expectCommonHeaders(created, true)) as { id: string };
      const read = await tn.request(`/v1/users/${user.id}`);
      expect(read.status).toBe(200);
      expect(JSON.parse(await expectCommonHeaders(read, true))).toMatchObject({ id: user.id });
      const missing = await tn.request('/v1/users/usr_01jzzzzzzzzzzzzzzzzzzzzzzz');
      expect(missing.status).toBe(404);
      expect(JSON.parse(await expectCommonHeaders(missing, true))).toMatchObject({ error: { code: 'not_found' } });
    });

    it('a tRPC call alone, a tRPC batch, and a caller-sent request id', async () => {
      const tn = await tenant();
      const single = await tn.request('/trpc/users.list');
      expect(single.status).toBe(200);
      expect(single.headers.get('vary')).toBe('trpc-accept, accept');
      await expectCommonHeaders(single, true);
      const batch = await tn.request('/trpc/users.list,users.list?batch=1&input={}');
      expect(batch.status).toBe(200);
      await expectCommonHeaders(batch, true);
      const traced = await tn.request('/v1/users', { headers: { 'x-request-id': 'trace-42' } });
      expect(traced.headers.get('x-request-id')).toBe('trace-42');
    });

    it('refusals before any procedure: 401, 413, 415, 404, and the 429 with its Retry-After', async () => {
      const tn = await tenant();
      const anonymous = await tn.raw('/v1/users');
      expect(anonymous.status).toBe(401);
      await expectCommonHeaders(anonymous, true);
      const large = await tn.request('/v1/users', { json: { email: `${'x'.repeat(2000)}@example.com` } });
      expect(large.status).toBe(413);
      await expectCommonHeaders(large, false);
      const text = await tn.request('/v1/users', {
        method: 'POST',
        body: 'email',
        headers: { 'content-type': 'text/plain' },
      });
      expect(text.status).toBe(415);
      await expectCommonHeaders(text, false);
      const nowhere = await tn.request('/v1/nowhere');
      expect(nowhere.status).toBe(404);
      await expectCommonHeaders(nowhere, true);
      let limited: Response | undefined;
      for (let i = 0; i < LIMIT + 1 && limited === undefined; i++) {
        const response = await tn.request('/v1/users');
        if (response.status === 429) limited = response;
        else await response.text();
      }
      expect(limited?.status).toBe(429);
      expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      await expectCommonHeaders(limited!, true);
    });

    it('routes outside the API carry the request id only', async () => {
      const tn = await tenant();
      const health = await tn.raw('/healthz');
      expect(health.status).toBe(200);
      expect(health.headers.get('ratelimit')).toBeNull();
      await expectCommonHeaders(health, false);
    });
  });
