import type { Database } from '@herald/db';
import type { ApiServices } from '@herald/router';
import {
  endPortalSession,
  findPortalSession,
  hasCsrfToken,
  matchesAdminToken,
  openPortalLink,
  startPortalSession,
} from '@herald/router';
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { HeraldEnv } from '../middleware/request-context';
import { errorResponse } from '../rest/error-response';
import { clearPortalCookies, setPortalCookies } from './portal-cookies';
import { frameAncestorsOf, portalSecurityHeaders } from './portal-csp';
import { refusedLinkPage } from './portal-pages';
import { portalFile } from './portal-static';

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

  app.get('/open', async (c) => {
    // HEAD (link checkers, mail scanners) must not spend a single-use link: nothing is looked up.
    if (c.req.method === 'HEAD') return c.body(null, 200, { 'cache-control': 'no-store' });
    const token = c.req.query('token') ?? '';
    const result = await openPortalLink(db, token);
    if (!result.ok) {
      c.header('cache-control', 'no-store');
      for (const [name, value] of Object.entries(portalSecurityHeaders([]))) c.header(name, value);
      return c.html(refusedLinkPage(result.reason), result.reason === 'unknown' ? 404 : 410);
    }
    const frameAncestors = await frameAncestorsOf(db, result.session);
    setPortalCookies(c, result.session, { framed: frameAncestors.length > 0 });
    for (const [name, value] of Object.entries(portalSecurityHeaders(frameAncestors))) c.header(name, value);
    c.header('cache-control', 'no-store');
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

function clientKey(c: Context): string {
  // In-process requests (tests calling app.request) have no socket: one shared key.
  try {
    return (c.env as { incoming?: { socket?: { remoteAddress?: string } } })?.incoming?.socket?.remoteAddress ?? '-';
  } catch {
    return '-';
  }
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
