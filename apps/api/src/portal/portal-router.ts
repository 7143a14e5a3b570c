import type { Database } from '@herald/db';
import { projects } from '@herald/db';
import type { ApiServices } from '@herald/router';
import {
  addressBucket,
  checkPortalLink,
  endPortalSession,
  findPortalSession,
  hasCsrfToken,
  matchesAdminToken,
  openPortalLink,
  startPortalSession,
} from '@herald/router';
import { inArray } from 'drizzle-orm';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { readBodyWithin, settleUnreadBody } from '../middleware/json-body';
import type { HeraldEnv } from '../middleware/request-context';
import { errorResponse } from '../rest/error-response';
import { clearPortalCookies, hasLinkNonce, setLinkNonce, setPortalCookies } from './portal-cookies';
import { frameAncestorsOf, portalSecurityHeaders } from './portal-csp';
import type { SwitchingPortals } from './portal-pages';
import { OPEN_LINK_SCRIPT, openLinkPage, refusedLinkPage } from './portal-pages';
import { portalFile } from './portal-static';

/** The largest body a portal POST takes (a link's form, the operator's sign-in): 413 past it. */
const PORTAL_BODY_LIMIT_BYTES = 16 * 1024;

/** Operator sign-in attempts one client address may make per window. */
const SIGN_IN_ATTEMPTS = 10;
const SIGN_IN_WINDOW_MS = 60_000;

/**
 * `/portal`: the built portal (static files), the door a portal link opens
 * (`/portal/open?token=…`), the operator's sign-in with the admin token, and
 * sign-out. The portal's data goes through `/trpc` with the session cookie.
 */
export function createPortalRouter(db: Database, services: ApiServices, portalDir: string) {
  const app = new Hono<HeraldEnv>();
  const signIns = new Map<string, { start: number; count: number }>();

  // Every POST's body is read within a small limit first (413), and an early answer leaves the
  // connection usable (`settleUnreadBody`).
  app.post('*', settleUnreadBody(), async (c, next) => {
    const refusal = await readBodyWithin(c, PORTAL_BODY_LIMIT_BYTES);
    if (refusal) return refusal;
    await next();
  });

  // A link's GET spends nothing: it answers a page whose form (sent by its script at once) POSTs
  // the token. Mail and chat scanners, link previews and prefetches fetch links without running
  // scripts; a GET that spent the link left the person it was for with "already used".
  app.get('/open', async (c) => {
    c.header('cache-control', 'no-store');
    // HEAD (link checkers): nothing is looked up.
    if (c.req.method === 'HEAD') return c.body(null, 200);
    const token = c.req.query('token') ?? '';
    const link = await checkPortalLink(db, token);
    if (!link.ok) return refusedLink(c, link.reason);
    const frameAncestors = await frameAncestorsOf(db, { projectId: link.projectId });
    for (const [name, value] of Object.entries(portalSecurityHeaders(frameAncestors))) c.header(name, value);
    // Browsers that send Fetch Metadata have their POST checked by it, and get no cookie here.
    const nonce =
      c.req.header('sec-fetch-site') === undefined ? setLinkNonce(c, { framed: frameAncestors.length > 0 }) : null;
    return c.html(openLinkPage(token, nonce, await switchingPortals(c, link.projectId)), 200);
  });

  /**
   * Something other than the portal sent the browser here (another site's link or window, a mail)
   * while it holds a session of another project, or the operator's: the link page asks rather than
   * switching silently.
   */
  const switchingPortals = async (c: Context, projectId: string): Promise<SwitchingPortals | undefined> => {
    // Only the portal's own pages switch without asking: a link from another site, a mail or chat app
    // (`none`), or a browser that does not say (no Sec-Fetch-Site) is asked.
    if (c.req.header('sec-fetch-site') === 'same-origin') return undefined;
    const current = await findPortalSession(db, c.req.raw.headers, services.config.adminToken);
    if (!current || current.projectId === projectId) return undefined;
    const ids = current.projectId ? [projectId, current.projectId] : [projectId];
    const rows = await db
      .select({ id: projects.id, name: projects.name })
      .from(projects)
      .where(inArray(projects.id, ids));
    // Names need not be unique: the page shows each with its id.
    const nameOf = (id: string) => ({ id, name: rows.find((r) => r.id === id)?.name ?? 'a project' });
    return { current: current.projectId ? nameOf(current.projectId) : null, next: nameOf(projectId) };
  };

  app.get('/open.js', (c) =>
    c.body(OPEN_LINK_SCRIPT, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' }),
  );

  app.post('/open', async (c) => {
    // Only the link page's own form opens a link: another site posting its own link's token would
    // sign the visitor in to that project, in place of their session (login CSRF). Browsers say
    // where a request comes from; clients that are not browsers send nothing and are let through.
    const site = c.req.header('sec-fetch-site');
    if (site === 'cross-site' || site === 'same-site') {
      return errorResponse(c, 'forbidden', "A portal link opens from its own page, not from another site's");
    }
    if (!c.req.header('content-type')?.startsWith('application/x-www-form-urlencoded')) {
      return errorResponse(
        c,
        'unsupported_media_type',
        "Send the link page's form (application/x-www-form-urlencoded)",
      );
    }
    const form = new URLSearchParams(await c.req.text());
    // A browser that does not send Fetch Metadata (Safari before 16.4) still sends Origin with a
    // form's POST: then only the link page's own form, with its nonce, opens a link. Clients that
    // are not browsers send neither and are let through.
    if (site === undefined && c.req.header('origin') !== undefined && !hasLinkNonce(c, form.get('nonce'))) {
      return errorResponse(c, 'forbidden', "A portal link opens from its own page, not from another site's");
    }
    const token = form.get('token') ?? '';
    const result = await openPortalLink(db, token);
    c.header('cache-control', 'no-store');
    if (!result.ok) return refusedLink(c, result.reason);
    const frameAncestors = await frameAncestorsOf(db, result.session);
    setPortalCookies(c, result.session, { framed: frameAncestors.length > 0 });
    for (const [name, value] of Object.entries(portalSecurityHeaders(frameAncestors))) c.header(name, value);
    return c.redirect('/portal/', 303);
  });

  app.post('/operator/sign-in', async (c) => {
    if (!c.req.header('content-type')?.startsWith('application/json')) {
      return errorResponse(c, 'unsupported_media_type', 'Send {"token": "…"} as application/json');
    }
    if (!takeSignIn(signIns, clientKey(c))) {
      c.header('retry-after', String(SIGN_IN_WINDOW_MS / 1000));
      return errorResponse(c, 'rate_limited', 'Too many sign-in attempts from this address; retry in a minute');
    }
    const body = (await c.req.json().catch(() => null)) as { token?: unknown } | null;
    const token = typeof body?.token === 'string' ? body.token : null;
    if (!matchesAdminToken(services.config.adminToken, token)) {
      return errorResponse(c, 'unauthorized', 'That is not the admin token (HERALD_ADMIN_TOKEN)');
    }
    const session = await startPortalSession(db, { kind: 'operator', adminToken: token! });
    setPortalCookies(c, session, { framed: false });
    return c.json({ kind: 'operator', expiresAt: session.expiresAt.toISOString() });
  });

  app.post('/sign-out', async (c) => {
    // Another site signing the browser out would clear the way for its own link (the link page asks
    // before replacing a session, not when there is none): only the portal's own script signs out. It
    // sends x-herald-csrf, which no form can; browsers also say where a request comes from.
    const site = c.req.header('sec-fetch-site');
    if (site === 'cross-site' || site === 'same-site' || !c.req.raw.headers.has('x-herald-csrf')) {
      return errorResponse(c, 'forbidden', 'Sign out from the portal itself (x-herald-csrf)');
    }
    const session = await findPortalSession(db, c.req.raw.headers, services.config.adminToken);
    if (session && !hasCsrfToken(c.req.raw.headers, session)) {
      return errorResponse(c, 'forbidden', 'A change from the portal must carry its CSRF token (x-herald-csrf)');
    }
    await endPortalSession(db, c.req.raw.headers);
    clearPortalCookies(c);
    return c.json({ signedOut: true });
  });

  app.get('/*', async (c) => {
    const subPath = c.req.path.replace(/^\/portal\/?/, '');
    const file = portalFile(portalDir, subPath);
    if (!file) {
      return errorResponse(
        c,
        'not_found',
        subPath.includes('.') ? `No portal file ${subPath}` : 'The portal is not built: run pnpm build',
      );
    }
    const session = file.immutable ? null : await findPortalSession(db, c.req.raw.headers, services.config.adminToken);
    for (const [name, value] of Object.entries(portalSecurityHeaders(await frameAncestorsOf(db, session)))) {
      c.header(name, value);
    }
    c.header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-store');
    return c.body(file.body as Uint8Array<ArrayBuffer>, 200, { 'content-type': file.type });
  });

  return app;
}

/** A link that does not open (404 unknown, 410 used, expired or withdrawn): a plain page, no script. */
function refusedLink(c: Context, reason: Parameters<typeof refusedLinkPage>[0]) {
  for (const [name, value] of Object.entries(portalSecurityHeaders([]))) c.header(name, value);
  return c.html(refusedLinkPage(reason), reason === 'unknown' ? 404 : 410);
}

/** The client's address (`clientAddressOf`), an IPv6 /64 as one; in-process requests share `-`. */
function clientKey(c: Context<HeraldEnv>): string {
  const address = c.var.clientAddress;
  return address === undefined ? '-' : addressBucket(address);
}

/** A fixed window per address: admin-token guessing gets 10 tries a minute. */
function takeSignIn(windows: Map<string, { start: number; count: number }>, key: string): boolean {
  const now = Date.now();
  let w = windows.get(key);
  if (!w || now - w.start >= SIGN_IN_WINDOW_MS) {
    if (windows.size > 10_000) windows.clear();
    w = { start: now, count: 0 };
    windows.set(key, w);
  }
  w.count += 1;
  return w.count <= SIGN_IN_ATTEMPTS;
}
