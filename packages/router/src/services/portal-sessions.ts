import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PortalSessionKind, Queryable } from '@herald/db';
import { portalLinks, portalSessions } from '@herald/db';
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
  | { ok: false; reason: 'unknown' | 'expired' | 'used' };

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

/** A new single-use link into the portal of `projectId`. */
export async function mintPortalLink(db: Queryable, projectId: string, now = new Date()) {
  const token = `${LINK_PREFIX}${randomBytes(32).toString('base64url')}`;
  const expiresAt = new Date(now.getTime() + PORTAL_LINK_TTL_MS);
  // Links and sessions past their time are of no use: dropped as new ones are made.
  await db.delete(portalLinks).where(lt(portalLinks.expiresAt, new Date(now.getTime() - PORTAL_LINK_TTL_MS)));
  await db.insert(portalLinks).values({ tokenHash: hashToken(token), projectId, expiresAt });
  return { token, expiresAt };
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
    .where(and(eq(portalLinks.tokenHash, tokenHash), isNull(portalLinks.usedAt), gt(portalLinks.expiresAt, now)))
    .returning({ projectId: portalLinks.projectId });
  if (!spent) {
    const [link] = await db.select().from(portalLinks).where(eq(portalLinks.tokenHash, tokenHash)).limit(1);
    if (!link) return { ok: false, reason: 'unknown' };
    return { ok: false, reason: link.usedAt ? 'used' : 'expired' };
  }
  return { ok: true, session: await startPortalSession(db, 'project', spent.projectId, now) };
}

/** A new session; `projectId` null for the operator. */
export async function startPortalSession(
  db: Queryable,
  kind: PortalSessionKind,
  projectId: string | null,
  now = new Date(),
): Promise<NewPortalSession> {
  const token = `${SESSION_PREFIX}${randomBytes(32).toString('base64url')}`;
  const expiresAt = new Date(now.getTime() + PORTAL_SESSION_TTL_MS);
  await db.delete(portalSessions).where(lt(portalSessions.expiresAt, now));
  await db.insert(portalSessions).values({ tokenHash: hashToken(token), kind, projectId, expiresAt });
  return { token, kind, projectId, expiresAt, csrfToken: csrfTokenFor(token) };
}

/** The session token of a request's `Cookie` header, if any. */
export function portalSessionToken(headers: Headers): string | null {
  const cookie = headers.get('cookie');
  if (!cookie) return null;
  for (const part of cookie.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === PORTAL_SESSION_COOKIE) {
      const token = value.join('=');
      return token.startsWith(SESSION_PREFIX) && token.length <= 200 ? token : null;
    }
  }
  return null;
}

/** The live session of a request's cookie, or null (none, unknown, expired). */
export async function findPortalSession(
  db: Queryable,
  headers: Headers,
  now = new Date(),
): Promise<PortalSession | null> {
  const token = portalSessionToken(headers);
  if (!token) return null;
  const [row] = await db
    .select()
    .from(portalSessions)
    .where(and(eq(portalSessions.tokenHash, hashToken(token)), gt(portalSessions.expiresAt, now)))
    .limit(1);
  if (!row) return null;
  return { kind: row.kind, projectId: row.projectId, expiresAt: row.expiresAt, csrfToken: csrfTokenFor(token) };
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
    .set({ expiresAt: sql`now()` })
    .where(eq(portalSessions.tokenHash, hashToken(token)));
}
