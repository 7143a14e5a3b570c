import { projects } from '@herald/db';
import type { TestDb } from '@herald/db/testing';
import { eq } from 'drizzle-orm';
import { beforeAll, expect, it } from 'vitest';
import type { PortalHerald, PortalProject } from './portal-harness';
import { openLink, submitLink } from './portal-harness';

/**
 * Where a portal session meets the rest of the browser: a link another site sends a signed-in
 * browser to, signing out of a framed portal, and what the browser may cache.
 */
export function portalSessionEdgeTests(t: TestDb, herald: () => PortalHerald) {
  let h: PortalHerald;
  let a: PortalProject;
  let b: PortalProject;
  const nameOf = async (p: PortalProject) =>
    (await t.db.select({ name: projects.name }).from(projects).where(eq(projects.id, p.id)))[0]!.name;

  beforeAll(async () => {
    h = herald();
    [a, b] = await Promise.all([h.project(), h.project()]);
  });

  /** The link's GET as a browser sends it when another site navigates it there. */
  const followFromAnotherSite = async (link: string, cookie?: string) => {
    const headers: Record<string, string> = { 'sec-fetch-site': 'cross-site', 'sec-fetch-dest': 'document' };
    if (cookie) headers.cookie = cookie;
    const page = await fetch(link, { headers, redirect: 'manual' });
    expect(page.status).toBe(200);
    return { page, html: await page.text() };
  };

  it("another site's link asks a browser signed in to another project before switching (login CSRF)", async () => {
    const signedIn = await openLink(await a.link());
    const linkB = await b.link();

    const { page, html } = await followFromAnotherSite(linkB, signedIn.cookie);
    expect(html).toContain('data-link="confirm"');
    expect(html).not.toContain('open.js');
    // Names need not be unique: each goes with its id.
    expect(html).toContain(`<bdi>${await nameOf(a)}</bdi></strong> (<code>${a.id}</code>)`);
    expect(html).toContain(`<bdi>${await nameOf(b)}</bdi></strong> (<code>${b.id}</code>)`);
    // The site that opened the window can neither script nor close it.
    expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(page.headers.get('set-cookie')).toBeNull();

    // Nothing was spent: the person's own click (the page's form) opens it.
    expect((await submitLink(linkB)).status).toBe(303);
  });

  it('asks too for a link from a mail or chat app, or a browser that does not say where it came from', async () => {
    const signedIn = await openLink(await a.link());
    const fromMail = await fetch(await b.link(), { headers: { cookie: signedIn.cookie, 'sec-fetch-site': 'none' } });
    expect(await fromMail.text()).toContain('data-link="confirm"');
    const unsaid = await fetch(await b.link(), { headers: { cookie: signedIn.cookie } });
    expect(await unsaid.text()).toContain('data-link="confirm"');
  });

  it("opens at once for a first sign-in, the same project, or the portal's own page", async () => {
    const signedIn = await openLink(await a.link());
    expect((await followFromAnotherSite(await b.link())).html).toContain('data-link="ready"');
    expect((await followFromAnotherSite(await a.link(), signedIn.cookie)).html).toContain('data-link="ready"');
    const own = await fetch(await b.link(), { headers: { cookie: signedIn.cookie, 'sec-fetch-site': 'same-origin' } });
    const html = await own.text();
    expect(html).toContain('data-link="ready"');
    expect(html).toContain('open.js');
  });

  it('another site cannot sign the browser out (which would clear the way for its link): the session lives on', async () => {
    const session = await openLink(await a.link());
    const signOut = (headers: Record<string, string>) =>
      fetch(`${h.url}/portal/sign-out`, { method: 'POST', headers: { cookie: session.cookie, ...headers } });
    // A cross-site form: the browser says so; an older one sends no x-herald-csrf (no form can).
    const crossSite = await signOut({ 'sec-fetch-site': 'cross-site', 'x-herald-csrf': session.csrf });
    expect(crossSite.status).toBe(403);
    expect(crossSite.headers.getSetCookie()).toEqual([]);
    expect((await signOut({})).status).toBe(403);
    // An older browser's cross-site form: no Sec-Fetch-Site, no cookie (SameSite=Lax), no x-herald-csrf.
    const bare = await fetch(`${h.url}/portal/sign-out`, { method: 'POST' });
    expect(bare.status).toBe(403);
    expect(bare.headers.getSetCookie()).toEqual([]);
    const stillIn = await fetch(`${h.url}/trpc/endpoints.list?input=${encodeURIComponent('{}')}`, {
      headers: { cookie: session.cookie },
    });
    expect(stillIn.status).toBe(200);
  });

  it('signing out over https also clears the partitioned cookies a framed portal holds', async () => {
    const session = await openLink(await a.link(), { https: true });
    const out = await fetch(`${h.url}/portal/sign-out`, {
      method: 'POST',
      headers: { cookie: session.cookie, 'x-herald-csrf': session.csrf, 'x-forwarded-proto': 'https' },
    });
    expect(out.status).toBe(200);
    const cleared = out.headers.getSetCookie();
    for (const name of ['__Host-herald_portal', '__Host-herald_portal_csrf', 'herald_portal', 'herald_portal_csrf']) {
      expect(cleared).toContain(`${name}=; Path=/; Max-Age=0; SameSite=None; Secure; Partitioned`);
      expect(cleared).toContain(`${name}=; Path=/; Max-Age=0; SameSite=Lax; Secure`);
    }
  });

  it('behind https the session cookies are `__Host-` ones, which no sibling subdomain can plant', async () => {
    const opened = await submitLink(await a.link(), { https: true });
    const set = opened.headers.getSetCookie();
    const session = set.find((c) => c.startsWith('__Host-herald_portal='));
    const csrf = set.find((c) => c.startsWith('__Host-herald_portal_csrf='));
    for (const cookie of [session, csrf]) {
      expect(cookie).toMatch(/; Path=\/;/);
      expect(cookie).toMatch(/; Secure/);
      expect(cookie).not.toMatch(/domain=/i);
    }
    const token = session!.split(';')[0]!.split('=')[1]!;
    const list = (cookie: string) =>
      fetch(`${h.url}/trpc/endpoints.list?input=${encodeURIComponent('{}')}`, {
        headers: { cookie, 'x-forwarded-proto': 'https' },
      });
    expect((await list(`__Host-herald_portal=${token}`)).status).toBe(200);
    // The plain name is what a sibling subdomain can set (Domain=parent): not read behind https.
    expect((await list(`herald_portal=${token}`)).status).toBe(401);
  });

  it("a session cookie sent twice (one planted with a longer path) is no session, not the planter's", async () => {
    const victim = await openLink(await a.link());
    const planted = await openLink(await b.link());
    const plantedSession = planted.cookie.split('; ').find((c) => c.startsWith('herald_portal='))!;
    // The browser sends the planted cookie first (its path is longer), then the victim's.
    const response = await fetch(`${h.url}/trpc/endpoints.list?input=${encodeURIComponent('{}')}`, {
      headers: { cookie: `${plantedSession}; ${victim.cookie}` },
    });
    expect(response.status).toBe(401);
  });

  it("the portal's page is never cached, even asked for by name; only hashed assets are, for a year", async () => {
    const byName = await fetch(`${h.url}/portal/index.html`);
    expect(byName.headers.get('cache-control')).toBe('no-store');
    const asset = /src="(\/portal\/assets\/[^"]+\.js)"/.exec(await byName.text())?.[1];
    expect(asset).toBeDefined();
    expect((await fetch(`${h.url}${asset}`)).headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });
}
