import { createPlatform } from '@herald/api';
import type { TestDb } from '@herald/db/testing';
import { findPortalSession } from '@herald/router';
import { beforeAll, expect, it } from 'vitest';
import { ADMIN_TOKEN } from './harness';
import type { PortalCookies, PortalHerald, PortalProject } from './portal-harness';
import { openLink } from './portal-harness';

/**
 * What ends the portal's links and sessions, on the Herald portal.db.test.ts shares: revoking the
 * API key that minted them, a change of the admin token (operator sessions), signing out whatever
 * an API process's clock says; and what must not spend a link (HEAD).
 */
export function portalRevocationTests(t: TestDb, herald: () => PortalHerald) {
  let h: PortalHerald;
  let a: PortalProject;
  beforeAll(async () => {
    h = herald();
    a = await h.project();
  });

  const endpointsStatus = async (cookies: PortalCookies, url = h.url) =>
    (
      await fetch(`${url}/trpc/endpoints.list?input=${encodeURIComponent('{}')}`, {
        headers: { cookie: cookies.cookie },
      })
    ).status;
  /** A link minted with `apiKey` (not the project's first key). */
  const linkWith = async (apiKey: string) => {
    const response = await fetch(`${h.url}/v1/portal-sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(201);
    return ((await response.json()) as { url: string }).url;
  };

  it('revoking the API key that minted a link ends the link and the session it opened; other keys’ hold', async () => {
    const doomed = await a.call<{ id: string; key: string }>('/v1/api-keys', 201, { name: 'portal minter' });
    const opened = await openLink(await linkWith(doomed.key));
    const unopened = await linkWith(doomed.key);
    const other = await openLink(await a.link());
    expect(await endpointsStatus(opened)).toBe(200);

    await a.call(`/v1/api-keys/${doomed.id}`, 200, undefined, 'DELETE');
    expect(await endpointsStatus(opened)).toBe(401);
    const refused = await fetch(unopened, { redirect: 'manual' });
    expect(refused.status).toBe(410);
    expect(refused.headers.getSetCookie()).toEqual([]);
    expect(await refused.text()).toContain('data-refused="revoked"');
    expect(await endpointsStatus(other)).toBe(200);
  });

  it("HEAD and GET do not spend a link (link checkers, mail scanners, previews); its form's POST opens it", async () => {
    const link = await a.link();
    const head = await fetch(link, { method: 'HEAD', redirect: 'manual' });
    expect(head.status).toBe(200);
    expect(head.headers.getSetCookie()).toEqual([]);
    // A scanner fetching the page (no scripts run): a page with the form, no session, the link still
    // whole. Asked without Fetch Metadata, the page sets its form's nonce cookie only (portal-access.ts).
    for (let i = 0; i < 3; i++) {
      const page = await fetch(link, { redirect: 'manual' });
      expect(page.status).toBe(200);
      expect(page.headers.getSetCookie().map((c) => c.split('=')[0])).toEqual(['herald_portal_open']);
      const fromBrowser = await fetch(link, { headers: { 'sec-fetch-site': 'none' }, redirect: 'manual' });
      expect(fromBrowser.headers.getSetCookie()).toEqual([]);
      expect(page.headers.get('cache-control')).toBe('no-store');
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      const html = await page.text();
      expect(html).toContain('<form id="open-portal" method="post" action="/portal/open">');
      expect(html).toContain('<script src="/portal/open.js" defer></script>');
    }
    const script = await fetch(`${h.url}/portal/open.js`);
    expect(script.headers.get('content-type')).toContain('text/javascript');
    expect(await script.text()).toContain("getElementById('open-portal')");
    expect(await endpointsStatus(await openLink(link))).toBe(200);
  });

  it("a link's POST takes only its form: another type 415, a large body 413, and the connection still serves", async () => {
    const link = await a.link();
    const token = new URL(link).searchParams.get('token')!;
    const asJson = await fetch(`${h.url}/portal/open`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
      redirect: 'manual',
    });
    expect(asJson.status).toBe(415);
    const huge = await fetch(`${h.url}/portal/open`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${token}&pad=${'x'.repeat(10 * 1024 * 1024)}`,
      redirect: 'manual',
    });
    expect(huge.status).toBe(413);
    const signIn = await fetch(`${h.url}/portal/operator/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: 'x'.repeat(1024 * 1024) }),
    });
    expect(signIn.status).toBe(413);
    const noToken = await fetch(`${h.url}/portal/open`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=%00%FF',
      redirect: 'manual',
    });
    expect(noToken.status).toBe(404);
    // None of them spent the link.
    expect(await endpointsStatus(await openLink(link))).toBe(200);
  });

  it('signing out ends the session in every API process, even one whose clock is behind', async () => {
    const cookies = await openLink(await a.link());
    const signOut = await fetch(`${h.url}/portal/sign-out`, {
      method: 'POST',
      headers: { cookie: cookies.cookie, 'x-herald-csrf': cookies.csrf },
    });
    expect(signOut.status).toBe(200);
    expect(await endpointsStatus(cookies)).toBe(401);
    const tenMinutesBehind = new Date(Date.now() - 10 * 60_000);
    const headers = new Headers({ cookie: cookies.cookie });
    expect(await findPortalSession(t.db, headers, ADMIN_TOKEN, tenMinutesBehind)).toBeNull();
  });

  it('an operator session ends once the admin token changes, or where none is configured', async () => {
    const signIn = await fetch(`${h.url}/portal/operator/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: ADMIN_TOKEN }),
    });
    expect(signIn.status).toBe(200);
    const cookie = signIn.headers
      .getSetCookie()
      .map((c) => c.split(';')[0]!)
      .join('; ');
    const overview = (url: string) =>
      fetch(`${url}/trpc/operator.overview?input=${encodeURIComponent('{}')}`, { headers: { cookie } });
    expect((await overview(h.url)).status).toBe(200);

    // Another API process on the same database, after the token was rotated there.
    const rotated = await createPlatform({
      database: { herald: t.herald },
      api: { adminToken: `${ADMIN_TOKEN}-rotated` },
      startDispatcher: false,
    });
    try {
      const server = await rotated.listen();
      expect((await overview(server.url)).status).toBe(401);
    } finally {
      await rotated.close();
    }
    expect(await findPortalSession(t.db, new Headers({ cookie }), undefined)).toBeNull();
    expect(await findPortalSession(t.db, new Headers({ cookie }), ADMIN_TOKEN)).toMatchObject({ kind: 'operator' });
  });
}
