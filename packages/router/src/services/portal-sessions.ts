import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PortalSessionKind, Queryable } from '@herald/db';
import { apiKeys, portalLinks, portalSessions } from '@herald/db';
import type { AnyColumn } from 'drizzle-orm';
import { and, eq, gt, isNull, lt, sql } from 'drizzle-orm';

/** How long a portal link may wait before it is opened. */
export const PORTAL_LINK_TTL_MS = 15 * 60_000;
/** How long a portal session lasts after its link was opened (or the operator signed in). */
export const PORTAL_SESSION_TTL_MS = 4 * 60 * 60_000;
/** The HttpOnly cookie holding the session token. */
export const PORTAL_SESSION_COOKIE = 'herald_portal';
/** The cookie the portal's script reads and echoes as `x-herald-csrf` on every change (double submit). */
export const PORTAL_CSRF_COOKIE = 'herald_portal_csrf';
export const PORTAL_CSRF_HEADER = 'x-herald-csrf';
/** Where a link opens; the token follows as `?token=`. */
export const PORTAL_OPEN_PATH = '/portal/open';

/** A portal link's token starts so (a link is `PORTAL_OPEN_PATH?token=hpl_…`). */
export const PORTAL_LINK_PREFIX = 'hpl_';
const LINK_PREFIX = PORTAL_LINK_PREFIX;
const SESSION_PREFIX = 'hps_';

export interface PortalSession {
  kind: PortalSessionKind;
  /** Null for an operator session. */
  projectId: string | null;
  expiresAt: Date;
  /** The value `x-herald-csrf` must carry on a change. */
  csrfToken: string;
}

/** A session just made: its token goes into the HttpOnly cookie, never anywhere else. */
export interface NewPortalSession extends PortalSession {
  token: string;
}

export type OpenLinkResult =
  | { ok: true; session: NewPortalSession }
  | { ok: false; reason: 'unknown' | 'expired' | 'used' | 'revoked' };

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * The CSRF token of a session: derived from its secret token, so the server
 * can check a header against it without storing anything, and a page on
 * another site, which can neither read the cookie nor compute this, cannot
 * send it.
 */
export function csrfTokenFor(sessionToken: string): string {
  return createHash('sha256').update(`herald-portal-csrf\n${sessionToken}`).digest('base64url');
}

/**
 * The tag an operator session keeps of the admin token it signed in with: enough to tell the token
 * changed, useless to sign in with (a keyed hash of a high-entropy token).
 */
function operatorTokenTag(adminToken: string): string {
  return createHash('sha256').update(`herald-portal-operator\n${adminToken}`).digest('hex');
}

/** A row's API key, if it names one, is not revoked (a link's or a session's: `portal_links.api_key_id`, …). */
const keyStillValid = (apiKeyId: AnyColumn) =>
  sql`(${apiKeyId} is null or exists (select 1 from ${apiKeys} k where k.id = ${apiKeyId} and k.revoked_at is null))`;

/** A new single-use link into the portal of `projectId`, minted with the API key `apiKeyId`. */
export async function mintPortalLink(db: Queryable, projectId: string, apiKeyId: string | null, now = new Date()) {
  const token = `${LINK_PREFIX}${randomBytes(32).toString('base64url')}`;
  const expiresAt = new Date(now.getTime() + PORTAL_LINK_TTL_MS);
  // Links and sessions past their time are of no use: dropped as new ones are made.
  await db.delete(portalLinks).where(lt(portalLinks.expiresAt, new Date(now.getTime() - PORTAL_LINK_TTL_MS)));
  await db.insert(portalLinks).values({ tokenHash: hashToken(token), projectId, apiKeyId, expiresAt });
  return { token, expiresAt };
}

export type CheckLinkResult = { ok: true; projectId: string } | Extract<OpenLinkResult, { ok: false }>;

/**
 * What opening a link would answer, without spending it: the page a link's GET shows (its form's
 * POST spends it, see the API's portal router), so a scanner that fetches the link leaves it whole.
 */
export async function checkPortalLink(db: Queryable, token: string, now = new Date()): Promise<CheckLinkResult> {
  if (!token.startsWith(LINK_PREFIX) || token.length > 200) return { ok: false, reason: 'unknown' };
  const [link] = await db
    .select({
      projectId: portalLinks.projectId,
      usedAt: portalLinks.usedAt,
      expiresAt: portalLinks.expiresAt,
      keyValid: sql<boolean>`${keyStillValid(portalLinks.apiKeyId)}`,
    })
    .from(portalLinks)
    .where(eq(portalLinks.tokenHash, hashToken(token)))
    .limit(1);
  // The same reasons, in the same order, as `openPortalLink` gives.
  if (!link) return { ok: false, reason: 'unknown' };
  if (link.usedAt) return { ok: false, reason: 'used' };
  if (link.expiresAt <= now) return { ok: false, reason: 'expired' };
  if (!link.keyValid) return { ok: false, reason: 'revoked' };
  return { ok: true, projectId: link.projectId };
}

/**
 * Spends a link (once, even when opened twice at the same moment: the
 * update is the test) and starts its project's session.
 */
export async function openPortalLink(db: Queryable, token: string, now = new Date()): Promise<OpenLinkResult> {
  if (!token.startsWith(LINK_PREFIX) || token.length > 200) return { ok: false, reason: 'unknown' };
  const tokenHash = hashToken(token);
  const [spent] = await db
    .update(portalLinks)
    .set({ usedAt: now })
    .where(
      and(
        eq(portalLinks.tokenHash, tokenHash),
        isNull(portalLinks.usedAt),
        gt(portalLinks.expiresAt, now),
        keyStillValid(portalLinks.apiKeyId),
      ),
    )
    .returning({ projectId: portalLinks.projectId, apiKeyId: portalLinks.apiKeyId });
  if (!spent) {
    const [link] = await db.select().from(portalLinks).where(eq(portalLinks.tokenHash, tokenHash)).limit(1);
    if (!link) return { ok: false, reason: 'unknown' };
    if (link.usedAt) return { ok: false, reason: 'used' };
    return { ok: false, reason: link.expiresAt > now ? 'revoked' : 'expired' };
  }
  const session = await startPortalSession(
    db,
    { kind: 'project', projectId: spent.projectId, apiKeyId: spent.apiKeyId },
    now,
  );
  return { ok: true, session };
}

/** Who a new session is for: a project (through the API key whose link opened it), or the operator. */
export type PortalSessionOwner =
  | { kind: 'project'; projectId: string; apiKeyId: string | null }
  | { kind: 'operator'; adminToken: string };

/** A new session. */
export async function startPortalSession(
  db: Queryable,
  owner: PortalSessionOwner,
  now = new Date(),
): Promise<NewPortalSession> {
  const token = `${SESSION_PREFIX}${randomBytes(32).toString('base64url')}`;
  const expiresAt = new Date(now.getTime() + PORTAL_SESSION_TTL_MS);
  const projectId = owner.kind === 'project' ? owner.projectId : null;
  await db.delete(portalSessions).where(lt(portalSessions.expiresAt, now));
  await db.insert(portalSessions).values({
    tokenHash: hashToken(token),
    kind: owner.kind,
    projectId,
    apiKeyId: owner.kind === 'project' ? owner.apiKeyId : null,
    operatorTokenTag: owner.kind === 'operator' ? operatorTokenTag(owner.adminToken) : null,
    expiresAt,
  });
  return { token, kind: owner.kind, projectId, expiresAt, csrfToken: csrfTokenFor(token) };
}

/**
 * The value of the cookie named `name` in a request's `Cookie` header, if any. A name sent more
 * than once counts as none: a sibling subdomain (or a page over plain http) can plant a cookie of
 * the same name with a longer path, which the browser sends first, and the first would be its.
 */
export function cookieOf(headers: Headers, name: string): string | null {
  const cookie = headers.get('cookie');
  if (!cookie) return null;
  let found: string | null = null;
  for (const part of cookie.split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key !== name) continue;
    if (found !== null) return null;
    found = value.join('=');
  }
  return found;
}

/**
 * Whether a proxy says the browser reached it over https (`X-Forwarded-Proto`): what the portal's
 * cookie names follow, since every reader of a session has the request's headers (an app served
 * over TLS directly, with no such header, keeps the plain names, Secure).
 */
export function isHttpsRequest(headers: Headers): boolean {
  return headers.get('x-forwarded-proto') === 'https';
}

/**
 * The portal's cookie names: over https with the `__Host-` prefix, which only this host can set
 * (Secure, `Path=/`, no `Domain`), so no sibling subdomain plants a session or CSRF token of its
 * own (an attacker's session in a victim's browser, the victim's changes made in the attacker's
 * project). Over plain http no prefix protects them; a name sent twice is refused (`cookieOf`).
 */
export function portalCookieNames(https: boolean): { session: string; csrf: string } {
  return https
    ? { session: `__Host-${PORTAL_SESSION_COOKIE}`, csrf: `__Host-${PORTAL_CSRF_COOKIE}` }
    : { session: PORTAL_SESSION_COOKIE, csrf: PORTAL_CSRF_COOKIE };
}

/** The session token of a request's `Cookie` header, if any. */
export function portalSessionToken(headers: Headers): string | null {
  const token = cookieOf(headers, portalCookieNames(isHttpsRequest(headers)).session);
  return token?.startsWith(SESSION_PREFIX) && token.length <= 200 ? token : null;
}

/**
 * The live session of a request's cookie, or null: none, unknown, expired, signed out, its API key
 * revoked, or an operator session whose admin token is no longer `adminToken` (or none is set).
 */
export async function findPortalSession(
  db: Queryable,
  headers: Headers,
  adminToken: string | null | undefined,
  now = new Date(),
): Promise<PortalSession | null> {
  const token = portalSessionToken(headers);
  if (!token) return null;
  const [row] = await db
    .select()
    .from(portalSessions)
    .where(
      and(
        eq(portalSessions.tokenHash, hashToken(token)),
        gt(portalSessions.expiresAt, now),
        isNull(portalSessions.endedAt),
        keyStillValid(portalSessions.apiKeyId),
      ),
    )
    .limit(1);
  if (!row) return null;
  if (row.kind === 'operator' && !(adminToken && row.operatorTokenTag === operatorTokenTag(adminToken))) return null;
  return { kind: row.kind, projectId: row.projectId, expiresAt: row.expiresAt, csrfToken: csrfTokenFor(token) };
}

const sessionsOfRequests = new WeakMap<Headers, Promise<PortalSession | null>>();

/**
 * `findPortalSession` once per request (its headers): the rate limiter and each call of a tRPC
 * batch ask for the same session.
 */
export function portalSessionOfRequest(
  db: Queryable,
  headers: Headers,
  adminToken: string | null | undefined,
): Promise<PortalSession | null> {
  let session = sessionsOfRequests.get(headers);
  if (!session) {
    session = findPortalSession(db, headers, adminToken);
    sessionsOfRequests.set(headers, session);
  }
  return session;
}

/** True if the request carries the session's CSRF token in `x-herald-csrf`. */
export function hasCsrfToken(headers: Headers, session: PortalSession): boolean {
  const sent = headers.get(PORTAL_CSRF_HEADER) ?? '';
  const a = createHash('sha256').update(sent).digest();
  const b = createHash('sha256').update(session.csrfToken).digest();
  return sent.length > 0 && timingSafeEqual(a, b);
}

/** Signs out: the cookie's session ends now. */
export async function endPortalSession(db: Queryable, headers: Headers): Promise<void> {
  const token = portalSessionToken(headers);
  if (!token) return;
  await db
    .update(portalSessions)
    .set({ endedAt: sql`now()` })
    .where(eq(portalSessions.tokenHash, hashToken(token)));
}
