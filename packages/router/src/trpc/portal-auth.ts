import { apiError } from '../errors';
import type { PortalSession } from '../services/portal-sessions';
import { hasCsrfToken, portalSessionOfRequest } from '../services/portal-sessions';
import type { Context } from './context';

/**
 * What a portal session (the browser cookie) may call: the webhook side of
 * its project and nothing else. API keys, users, logins, projects, portal
 * links and the project's framing settings stay with the API key, and so do
 * `herald listen`'s development endpoints: a tool of the project's own
 * developers, whose 20 a day a portal user could otherwise spend.
 */
const PORTAL_PROCEDURES = /^(endpoints\.(?!createListen$)|deliveries\.|events\.(types|get)$|portal\.)/;

/**
 * The portal session a request authenticates with, when it sends no
 * `Authorization` header (a bearer that fails stays a failure: it never
 * falls back to a cookie). A change (mutation) must echo the session's CSRF
 * token in `x-herald-csrf`, so a page on another site cannot make one with
 * the user's cookie.
 */
export async function portalSessionOf(
  ctx: Pick<Context, 'db' | 'headers' | 'services'>,
  call: { path: string; type: string },
  kind: PortalSession['kind'],
): Promise<PortalSession | null> {
  if (ctx.headers.has('authorization')) return null;
  const session = await portalSessionOfRequest(ctx.db, ctx.headers, ctx.services.config.adminToken);
  if (!session || session.kind !== kind) return null;
  if (kind === 'project' && !PORTAL_PROCEDURES.test(call.path)) {
    throw apiError('forbidden', `A portal session may not call ${call.path}; use an API key`);
  }
  if (call.type === 'mutation' && !hasCsrfToken(ctx.headers, session)) {
    throw apiError('forbidden', 'A change from the portal must carry its CSRF token (x-herald-csrf)');
  }
  return session;
}
