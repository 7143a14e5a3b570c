import type { NewPortalSession } from '@herald/router';
import { PORTAL_CSRF_COOKIE, PORTAL_SESSION_COOKIE } from '@herald/router';
import type { Context } from 'hono';

/**
 * The session cookie is HttpOnly (no script reads it); the CSRF cookie is
 * readable by the portal's own script, which echoes it as `x-herald-csrf`.
 * SameSite=Lax keeps both off cross-site subrequests. A portal framed by
 * another site needs SameSite=None (Secure, Partitioned), which browsers
 * allow over https only: that is used when the project lets sites frame it
 * and the request came over https.
 */
export function setPortalCookies(c: Context, session: NewPortalSession, options: { framed: boolean }) {
  const maxAge = Math.max(0, Math.floor((session.expiresAt.getTime() - Date.now()) / 1000));
  const secure = isHttps(c);
  const sameSite = options.framed && secure ? 'SameSite=None; Partitioned' : 'SameSite=Lax';
  const common = `Path=/; Max-Age=${maxAge}; ${sameSite}${secure ? '; Secure' : ''}`;
  c.header('set-cookie', `${PORTAL_SESSION_COOKIE}=${session.token}; HttpOnly; ${common}`, { append: true });
  c.header('set-cookie', `${PORTAL_CSRF_COOKIE}=${session.csrfToken}; ${common}`, { append: true });
}

/**
 * Clears the cookies as they may have been set: a framed portal's are partitioned, and only a
 * Set-Cookie that is Partitioned too (SameSite=None, Secure: the only kind a cross-site frame
 * accepts) reaches them; a Lax one would leave them in the frame until they expire.
 */
export function clearPortalCookies(c: Context) {
  const variants = isHttps(c) ? ['SameSite=Lax; Secure', 'SameSite=None; Secure; Partitioned'] : ['SameSite=Lax'];
  for (const name of [PORTAL_SESSION_COOKIE, PORTAL_CSRF_COOKIE]) {
    for (const variant of variants) c.header('set-cookie', `${name}=; Path=/; Max-Age=0; ${variant}`, { append: true });
  }
}

function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
}
