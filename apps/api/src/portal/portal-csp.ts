import type { Database } from '@herald/db';
import { portalSettings } from '@herald/db';
import type { PortalSession } from '@herald/router';
import { eq } from 'drizzle-orm';

/** The sites a project lets frame its portal; none for the operator or without a session. */
export async function frameAncestorsOf(
  db: Database,
  session: Pick<PortalSession, 'projectId'> | null,
): Promise<string[]> {
  if (!session?.projectId) return [];
  const [row] = await db
    .select({ frameAncestors: portalSettings.frameAncestors })
    .from(portalSettings)
    .where(eq(portalSettings.projectId, session.projectId));
  return row?.frameAncestors ?? [];
}

/**
 * The portal's Content-Security-Policy: its own scripts, styles and API
 * only, and `frame-ancestors` from the project's settings (validated to be
 * plain origins when they were set, so they cannot add a directive).
 */
export function portalCsp(frameAncestors: readonly string[]): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "object-src 'none'",
    `frame-ancestors ${frameAncestors.length > 0 ? frameAncestors.join(' ') : "'none'"}`,
  ].join('; ');
}

/**
 * Headers of every portal answer. The link's token is in the URL: never sent on as a Referer. A
 * window another site opened on the portal is cut off from it (Cross-Origin-Opener-Policy): that
 * site can neither script nor close it once it shows the portal.
 */
export function portalSecurityHeaders(frameAncestors: readonly string[]): Record<string, string> {
  return {
    'content-security-policy': portalCsp(frameAncestors),
    'cross-origin-opener-policy': 'same-origin',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
  };
}
