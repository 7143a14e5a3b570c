import { createHash } from 'node:crypto';
import { executeRows, portalLinks, portalSessions } from '@herald/db';
import type { TestDb } from '@herald/db/testing';
import { sql } from 'drizzle-orm';
import { beforeAll, expect, it } from 'vitest';
import { ADMIN_TOKEN, waitFor } from './harness';
import type { PortalCookies, PortalHerald, PortalProject } from './portal-harness';
import { openLink, submitLink } from './portal-harness';

/**
 * The portal's access rules over plain HTTP, on the Herald portal.db.test.ts
 * shares with the browser flows: single-use, expiring links; an HttpOnly
 * session scoped to one project; CSRF on every change; no other project's
 * ids; operator sign-in; frame-ancestors from the project's settings.
 */
export function portalAccessTests(t: TestDb, herald: () => PortalHerald) {
  let h: PortalHerald;
  let a: PortalProject;
  let b: PortalProject;
  let bEndpointId: string;
  let bDeliveryId: string;

  beforeAll(async () => {
    h = herald();
    [a, b] = await Promise.all([h.project(), h.project()]);
    const receiver = await h.receiver();
    bEndpointId = (await b.call('/v1/endpoints', 201, { url: receiver.url })).endpoint.id;
    await b.call('/v1/users', 201, { email: 'b@example.com' });
    bDeliveryId = await waitFor(async () => {
      const page = await b.call(`/v1/endpoints/${bEndpointId}/deliveries`, 200);
      return page.data[0]?.id ?? null;
    });
  });

  const trpc = async (
    cookies: PortalCookies | null,
    procedure: string,
    input: unknown,
    mutation = false,
    csrf = true,
  ) => {
    const headers: Record<string, string> = cookies ? { cookie: cookies.cookie } : {};
    if (mutation && csrf && cookies) headers['x-herald-csrf'] = cookies.csrf;
    const response = mutation
      ? await fetch(`${h.url}/trpc/${procedure}`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify(input),
        })
      : await fetch(`${h.url}/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`, { headers });
    const body = (await response.json()) as { result?: { data: any }; error?: { data: { herald: { code: string } } } };
    return { status: response.status, data: body.result?.data, code: body.error?.data.herald.code };
  };

  it('a link opens once, sets an HttpOnly SameSite session cookie, and stores only a hash', async () => {
    const minted = await a.call('/v1/portal-sessions', 201, {});
    expect(minted.url).toMatch(new RegExp(`^${h.url.replace(/[.]/g, '\\.')}/portal/open\\?token=hpl_`));
    const minutes = (Date.parse(minted.expiresAt) - Date.now()) / 60_000;
    expect(minutes).toBeGreaterThan(14);
    expect(minutes).toBeLessThanOrEqual(15);

    const token = new URL(minted.url).searchParams.get('token')!;
    const stored = await executeRows<{ n: number }>(
      t.db,
      sql`select count(*)::int as n from ${portalLinks} where token_hash = ${token} or project_id = ${token}`,
    );
    expect(stored[0]!.n, 'the plain token is never stored').toBe(0);

    const first = await submitLink(minted.url);
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/portal/');
    expect(first.headers.get('referrer-policy')).toBe('no-referrer');
    const [session, csrf] = first.headers.getSetCookie();
    expect(session).toMatch(/^herald_portal=hps_[\w-]+; HttpOnly; Path=\/; Max-Age=14(399|400); SameSite=Lax$/);
    expect(csrf).toMatch(/^herald_portal_csrf=[\w-]+; Path=\/; Max-Age=14(399|400); SameSite=Lax$/);
    const sessionToken = session!.split(';')[0]!.split('=')[1]!;
    const sessions = await executeRows<{ n: number }>(
      t.db,
      sql`select count(*)::int as n from ${portalSessions} where token_hash = ${sessionToken}`,
    );
    expect(sessions[0]!.n).toBe(0);

    const again = await fetch(minted.url, { redirect: 'manual' });
    expect(again.status).toBe(410);
    expect(again.headers.getSetCookie()).toEqual([]);
    expect(await again.text()).toContain('This portal link was already used');
    // Its form posted again (a double click, a back button): refused the same way.
    const resent = await fetch(`${h.url}/portal/open`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
      redirect: 'manual',
    });
    expect(resent.status).toBe(410);
    expect(resent.headers.getSetCookie()).toEqual([]);
  });

  it('a link posted from another site is refused (login CSRF); the session sees header names, not values; answers are never cached', async () => {
    const c = await h.project();
    const link = await c.link();
    const token = new URL(link).searchParams.get('token')!;
    const crossSite = await fetch(new URL('/portal/open', link), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'cross-site' },
      body: new URLSearchParams({ token }),
      redirect: 'manual',
    });
    expect(crossSite.status).toBe(403);
    // A browser that sends no Fetch Metadata (Safari before 16.4) sends Origin: another site's form
    // has neither the link page's nonce cookie nor its value, and one it made up does not match.
    const postFromOldBrowser = (headers: Record<string, string>, fields: Record<string, string>) =>
      fetch(new URL('/portal/open', link), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example', ...headers },
        body: new URLSearchParams({ token, ...fields }),
        redirect: 'manual',
      });
    expect((await postFromOldBrowser({}, {})).status).toBe(403);
    expect((await postFromOldBrowser({}, { nonce: 'A'.repeat(22) })).status).toBe(403);
    const pageNonce = (await fetch(link)).headers.getSetCookie().find((c) => c.startsWith('herald_portal_open='))!;
    expect(pageNonce).toMatch(/; HttpOnly; Path=\/portal\/open; Max-Age=900; SameSite=Lax$/);
    const wrong = await postFromOldBrowser({ cookie: pageNonce.split(';')[0]! }, { nonce: 'A'.repeat(22) });
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toMatchObject({ error: { code: 'forbidden' } });
    // Over https the nonce is a __Host- cookie: one planted under the plain name (by a sibling subdomain,
    // say) with a form field to match does not pass.
    const https = { 'x-forwarded-proto': 'https' };
    const securePage = await fetch(link, { headers: https });
    const secureNonce = securePage.headers.getSetCookie().find((c) => c.startsWith('__Host-herald_portal_open='))!;
    expect(secureNonce).toMatch(
      /^__Host-herald_portal_open=[\w-]{22}; HttpOnly; Path=\/; Secure; Max-Age=900; SameSite=Lax$/,
    );
    const planted = 'B'.repeat(22);
    const plantedPost = await postFromOldBrowser(
      { ...https, cookie: `herald_portal_open=${planted}` },
      { nonce: planted },
    );
    expect(plantedPost.status).toBe(403);
    // Not spent by the refusals: its own page opens it (submitLink: the page's nonce, as such a browser sends it).
    const cookies = await openLink(link);

    const receiver = await h.receiver();
    const created = await c.call('/v1/endpoints', 201, {
      url: receiver.url,
      headers: { 'x-receiver-token': 'kept-secret' },
    });
    // The project's API key sees what it configured.
    expect(created.endpoint.headers).toEqual({ 'x-receiver-token': 'kept-secret' });
    const seen = await trpc(cookies, 'endpoints.get', { id: created.endpoint.id });
    expect(seen.data.headers).toEqual({ 'x-receiver-token': '(hidden)' });
    const listed = await trpc(cookies, 'endpoints.list', {});
    expect(JSON.stringify(listed.data)).not.toContain('kept-secret');

    const answer = await fetch(
      `${h.url}/trpc/endpoints.getSecret?input=${encodeURIComponent(JSON.stringify({ id: created.endpoint.id }))}`,
      {
        headers: { cookie: cookies.cookie },
      },
    );
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
  });

  it("the session can neither set an endpoint's hidden header values nor send them to another URL", async () => {
    const c = await h.project();
    const cookies = await openLink(await c.link());
    const receiver = await h.receiver();
    const elsewhere = await h.receiver();
    const created = await c.call('/v1/endpoints', 201, {
      url: `${receiver.url}/hooks`,
      headers: { 'x-receiver-token': 'kept-secret' },
    });
    const id = created.endpoint.id as string;
    const moved = await trpc(cookies, 'endpoints.update', { id, url: `${elsewhere.url}/steal` }, true);
    expect(moved).toMatchObject({ status: 403, code: 'forbidden' });
    const overwritten = await trpc(cookies, 'endpoints.update', { id, headers: { 'x-receiver-token': 'x' } }, true);
    expect(overwritten).toMatchObject({ status: 403, code: 'forbidden' });
    const withHeaders = await trpc(
      cookies,
      'endpoints.create',
      { url: receiver.url, headers: { 'x-receiver-token': 'x' } },
      true,
    );
    expect(withHeaders).toMatchObject({ status: 403, code: 'forbidden' });
    const stored = await c.call(`/v1/endpoints/${id}`, 200);
    expect(stored).toMatchObject({ url: `${receiver.url}/hooks`, headers: { 'x-receiver-token': 'kept-secret' } });

    // Not even to another path of the same origin: one origin often serves many accounts by path.
    const samePlace = await trpc(cookies, 'endpoints.update', { id, url: `${receiver.url}/other` }, true);
    expect(samePlace).toMatchObject({ status: 403, code: 'forbidden' });
    // The same URL again, and changes other than the URL, are fine.
    const unchanged = await trpc(
      cookies,
      'endpoints.update',
      { id, url: `${receiver.url}/hooks`, disabled: true },
      true,
    );
    expect(unchanged.status).toBe(200);
    // An endpoint without custom headers moves anywhere, and the API key moves this one.
    const plain = await trpc(cookies, 'endpoints.create', { url: receiver.url }, true);
    expect(
      (await trpc(cookies, 'endpoints.update', { id: plain.data.endpoint.id, url: elsewhere.url }, true)).status,
    ).toBe(200);
    await c.call(`/v1/endpoints/${id}`, 200, { url: elsewhere.url }, 'PATCH');
  });

  it('an expired link is refused with 410, an unknown one with 404', async () => {
    const link = await a.link();
    const token = new URL(link).searchParams.get('token')!;
    await t.db.execute(
      sql`update ${portalLinks} set expires_at = now() - interval '1 second' where token_hash = ${sha256(token)}`,
    );
    const expired = await fetch(link, { redirect: 'manual' });
    expect(expired.status).toBe(410);
    expect(await expired.text()).toContain('This portal link has expired');
    const unknown = await fetch(`${h.url}/portal/open?token=hpl_nope`, { redirect: 'manual' });
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('This portal link is not valid');
  });

  it('the session reads and changes its own project; a change without the CSRF token is refused', async () => {
    const cookies = await openLink(await a.link());
    const receiver = await h.receiver();
    const created = await trpc(cookies, 'endpoints.create', { url: receiver.url }, true);
    expect(created.status).toBe(200);
    const endpointId = created.data.endpoint.id as string;
    const listed = await trpc(cookies, 'endpoints.list', {});
    expect(listed.data.data.map((e: { id: string }) => e.id)).toEqual([endpointId]);

    const noCsrf = await trpc(cookies, 'endpoints.update', { id: endpointId, disabled: true }, true, false);
    expect(noCsrf).toMatchObject({ status: 403, code: 'forbidden' });
    const wrongCsrf = await trpc(
      { ...cookies, csrf: 'x'.repeat(43) },
      'endpoints.update',
      { id: endpointId, disabled: true },
      true,
    );
    expect(wrongCsrf).toMatchObject({ status: 403, code: 'forbidden' });
    expect((await a.call(`/v1/endpoints/${endpointId}`, 200)).disabled, 'nothing changed').toBe(false);
    // The same over REST with the cookie: refused too.
    const rest = await fetch(`${h.url}/v1/endpoints/${endpointId}/rotate-secret`, {
      method: 'POST',
      headers: { cookie: cookies.cookie, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(rest.status).toBe(403);

    const withCsrf = await trpc(cookies, 'endpoints.update', { id: endpointId, disabled: true }, true);
    expect(withCsrf.status).toBe(200);
    expect((await a.call(`/v1/endpoints/${endpointId}`, 200)).disabled).toBe(true);
  });

  it('the delivery log pages with a cursor, newest first', async () => {
    const receiver = await h.receiver();
    const endpointId = (await a.call('/v1/endpoints', 201, { url: receiver.url })).endpoint.id as string;
    for (const n of [1, 2, 3]) await a.call('/v1/users', 201, { email: `page${n}@example.com` });
    const cookies = await openLink(await a.link());
    const first = await trpc(cookies, 'deliveries.list', { endpointId, limit: 2 });
    expect(first.data.data).toHaveLength(2);
    expect(first.data.nextCursor).toBe(first.data.data[1].id);
    const second = await trpc(cookies, 'deliveries.list', { endpointId, limit: 2, cursor: first.data.nextCursor });
    expect(second.data.data).toHaveLength(1);
    expect(second.data.nextCursor).toBeNull();
    const ids = [...first.data.data, ...second.data.data].map((d: { id: string }) => d.id);
    expect(ids).toEqual([...ids].sort().reverse());
    expect(await trpc(cookies, 'deliveries.list', { cursor: 'not-a-delivery' })).toMatchObject({
      status: 400,
      code: 'validation_error',
    });
  });

  it("another project's ids are never reachable through the session", async () => {
    const cookies = await openLink(await a.link());
    const reads: Array<[string, unknown]> = [
      ['endpoints.get', { id: bEndpointId }],
      ['endpoints.getSecret', { id: bEndpointId }],
      ['endpoints.stats', { id: bEndpointId }],
      ['endpoints.deliveries', { id: bEndpointId }],
      ['deliveries.get', { id: bDeliveryId }],
      ['deliveries.request', { id: bDeliveryId }],
    ];
    for (const [procedure, input] of reads) {
      expect(await trpc(cookies, procedure, input), procedure).toMatchObject({ status: 404, code: 'not_found' });
    }
    const changes: Array<[string, unknown]> = [
      ['endpoints.update', { id: bEndpointId, disabled: true }],
      ['endpoints.rotateSecret', { id: bEndpointId }],
      ['endpoints.sendTest', { id: bEndpointId, eventType: 'user.created' }],
      ['endpoints.recover', { id: bEndpointId, since: new Date(Date.now() - 60_000).toISOString() }],
      ['endpoints.delete', { id: bEndpointId }],
      ['deliveries.retry', { id: bDeliveryId }],
    ];
    for (const [procedure, input] of changes) {
      expect(await trpc(cookies, procedure, input, true), procedure).toMatchObject({ status: 404, code: 'not_found' });
    }
    const filtered = await trpc(cookies, 'deliveries.list', { endpointId: bEndpointId });
    expect(filtered.data.data).toEqual([]);
    const all = await trpc(cookies, 'deliveries.list', {});
    expect(all.data.data.map((d: { id: string }) => d.id)).not.toContain(bDeliveryId);
    // B's endpoint is untouched.
    expect((await b.call(`/v1/endpoints/${bEndpointId}`, 200)).disabled).toBe(false);
  });

  it('a session calls only the webhook side of its project; expired sessions are refused', async () => {
    const cookies = await openLink(await a.link());
    for (const [procedure, input, mutation] of [
      ['apiKeys.list', {}, false],
      ['users.list', {}, false],
      ['apiKeys.create', { name: 'stolen' }, true],
      ['portalSessions.create', {}, true],
      ['portalSettings.update', { frameAncestors: ['https://evil.example'] }, true],
      ['endpoints.createListen', { forwardTo: 'http://localhost:3000/webhooks' }, true],
    ] as const) {
      expect(await trpc(cookies, procedure, input, mutation), procedure).toMatchObject({
        status: 403,
        code: 'forbidden',
      });
    }
    expect(await trpc(cookies, 'operator.overview', {})).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(await trpc(null, 'endpoints.list', {})).toMatchObject({ status: 401, code: 'unauthorized' });

    const sessionToken = /herald_portal=([^;]+)/.exec(cookies.cookie)![1]!;
    await t.db.execute(
      sql`update ${portalSessions} set expires_at = now() - interval '1 second' where token_hash = ${sha256(sessionToken)}`,
    );
    expect(await trpc(cookies, 'endpoints.list', {})).toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it('the operator signs in with the admin token and sees every project', async () => {
    const signIn = (token: string) =>
      fetch(`${h.url}/portal/operator/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token }),
      });
    const wrong = await signIn('admin_wrong');
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: { code: 'unauthorized' } });
    const right = await signIn(ADMIN_TOKEN);
    expect(right.status).toBe(200);
    const cookies = right.headers.getSetCookie().map((c) => c.split(';')[0]!);
    const operator = { cookie: cookies.join('; '), csrf: cookies[1]!.split('=')[1]! };
    const overview = await trpc(operator, 'operator.overview', {});
    expect(overview.status).toBe(200);
    const ids = overview.data.data.map((p: { id: string }) => p.id);
    expect(ids).toEqual(expect.arrayContaining([a.id, b.id]));
    expect(overview.data.data.find((p: { id: string }) => p.id === b.id)).toMatchObject({ endpoints: 1 });
    // The operator session is not a project session.
    expect(await trpc(operator, 'endpoints.list', {})).toMatchObject({ status: 401 });
    expect((await trpc(operator, 'portal.session', {})).data).toMatchObject({ kind: 'operator', project: null });
  });

  it("frame-ancestors comes from the project's settings", async () => {
    const page = async (cookies: PortalCookies) =>
      (await fetch(`${h.url}/portal/`, { headers: { cookie: cookies.cookie } })).headers.get('content-security-policy');
    expect(await page(await openLink(await a.link()))).toContain("frame-ancestors 'none'");
    await a.call(
      '/v1/portal-settings',
      400,
      { frameAncestors: ["https://x.example; script-src 'unsafe-inline'"] },
      'PATCH',
    );
    await a.call(
      '/v1/portal-settings',
      200,
      { frameAncestors: ['https://dash.example.com', 'https://*.example.org'] },
      'PATCH',
    );
    expect(await a.call('/v1/portal-settings', 200)).toEqual({
      frameAncestors: ['https://dash.example.com', 'https://*.example.org'],
    });
    const csp = await page(await openLink(await a.link()));
    expect(csp).toContain('frame-ancestors https://dash.example.com https://*.example.org');
    expect(csp).toContain("script-src 'self'");
    // Another project's portal keeps its own (none).
    expect(await page(await openLink(await b.link()))).toContain("frame-ancestors 'none'");
  });
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
