import { randomBytes } from 'node:crypto';
import type { NewPortalSession } from '@herald/router';
import { cookieOf, isHttpsRequest, matchesSecret, portalCookieNames } from '@herald/router';
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
  // `__Host-` names behind an https proxy (see portalCookieNames): `Path=/`, Secure, no Domain.
  const names = portalCookieNames(isHttpsRequest(c.req.raw.headers));
  c.header('set-cookie', `${names.session}=${session.token}; HttpOnly; ${common}`, { append: true });
  c.header('set-cookie', `${names.csrf}=${session.csrfToken}; ${common}`, { append: true });
}

/**
 * Clears the cookies as they may have been set: a framed portal's are partitioned, and only a
 * Set-Cookie that is Partitioned too (SameSite=None, Secure: the only kind a cross-site frame
 * accepts) reaches them; a Lax one would leave them in the frame until they expire.
 */
export function clearPortalCookies(c: Context) {
  const variants = isHttps(c) ? ['SameSite=Lax; Secure', 'SameSite=None; Secure; Partitioned'] : ['SameSite=Lax'];
  // Over https both spellings: a session set before the names took the `__Host-` prefix ends too.
  const names = [portalCookieNames(false), ...(isHttpsRequest(c.req.raw.headers) ? [portalCookieNames(true)] : [])];
  for (const name of names.flatMap((n) => [n.session, n.csrf])) {
    for (const variant of variants) {
      // A `__Host-` cookie is cleared only by a Set-Cookie that may set it: Secure.
      if (name.startsWith('__Host-') && !variant.includes('Secure')) continue;
      c.header('set-cookie', `${name}=; Path=/; Max-Age=0; ${variant}`, { append: true });
    }
  }
}

/**
 * The link page's form nonce (double submit), for browsers that send no Fetch Metadata (Safari
 * before 16.4): the page asked without Sec-Fetch-Site sets it as a cookie and as a field of its
 * form, and a POST with `Origin` but no Sec-Fetch-Site must carry both, equal. Another site's form
 * cannot: it can neither read the cookie nor set it, and a SameSite cookie is not sent with a
 * cross-site POST anyway. Kept while it is valid (several link pages in several tabs share one).
 */
export const LINK_NONCE_COOKIE = 'herald_portal_open';
const LINK_NONCE = /^[A-Za-z0-9_-]{22}$/;

/**
 * Over https the nonce is a `__Host-` cookie: Secure, for the whole host and no other, so a sibling
 * subdomain (or a page over plain http) cannot plant one of its own to match a form it makes.
 * Browsers allow the prefix only with `Path=/`.
 */
function linkNonceCookie(c: Context): { name: string; attributes: string } {
  return isHttps(c)
    ? { name: `__Host-${LINK_NONCE_COOKIE}`, attributes: 'Path=/; Secure' }
    : { name: LINK_NONCE_COOKIE, attributes: 'Path=/portal/open' };
}

/** This browser's link nonce (`LINK_NONCE_COOKIE`), set afresh for 15 minutes. */
export function setLinkNonce(c: Context, options: { framed: boolean }): string {
  const { name, attributes } = linkNonceCookie(c);
  const current = cookieOf(c.req.raw.headers, name);
  const nonce = current && LINK_NONCE.test(current) ? current : randomBytes(16).toString('base64url');
  // A framed link page (a project that lets sites frame its portal) posts from a cross-site frame.
  const sameSite = options.framed && isHttps(c) ? 'SameSite=None; Partitioned' : 'SameSite=Lax';
  c.header('set-cookie', `${name}=${nonce}; HttpOnly; ${attributes}; Max-Age=900; ${sameSite}`, { append: true });
  return nonce;
}

/** Whether the request's link nonce cookie is there and equals `sent` (the form's field). */
export function hasLinkNonce(c: Context, sent: string | null): boolean {
  const expected = cookieOf(c.req.raw.headers, linkNonceCookie(c).name);
  return expected !== null && LINK_NONCE.test(expected) && matchesSecret(expected, sent);
}

function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
}
