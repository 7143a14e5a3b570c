import { z } from 'zod';
import { mintPortalLink, PORTAL_OPEN_PATH } from '../../services/portal-sessions';
import { projectProcedure } from '../../trpc/init';
import { requestOrigin } from './request-origin';

export const createPortalSession = projectProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/portal-sessions',
      summary: 'A single-use link into the portal of this project (15 minutes)',
      tags: ['Portal'],
      successStatus: 201,
      auth: 'apiKey',
    },
  })
  .input(z.strictObject({}).optional())
  .output(
    z.object({
      url: z.string().describe('Open once, within 15 minutes: it sets the portal session cookie (4 hours).'),
      expiresAt: z.string(),
    }),
  )
  .mutation(async ({ ctx }) => {
    // Bound to the key that mints it: revoking the key ends the link and the session it opens.
    const { token, expiresAt } = await mintPortalLink(ctx.db, ctx.projectId, ctx.apiKeyId);
    return {
      url: `${linkOrigin(ctx)}${PORTAL_OPEN_PATH}?token=${encodeURIComponent(token)}`,
      expiresAt: expiresAt.toISOString(),
    };
  });

/** Where the link points: `HERALD_PUBLIC_URL`, else the request's own origin (see `requestOrigin`). */
function linkOrigin(ctx: {
  headers: Headers;
  fromTrustedProxy: boolean;
  services: { config: { publicUrl?: string } };
}) {
  const { publicUrl } = ctx.services.config;
  return requestOrigin(ctx.headers, { ...(publicUrl ? { publicUrl } : {}), forwardedHost: ctx.fromTrustedProxy });
}
