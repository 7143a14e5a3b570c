import { endpointSecrets } from '@herald/db';
import { and, desc, eq, isNull } from 'drizzle-orm';
import type { Logger } from 'pino';
import { z } from 'zod';
import { apiError, notFound } from '../../errors';
import { projectProcedure } from '../../trpc/init';
import { endpointIdSchema } from './endpoint-schemas';
import { findEndpoint } from './find-endpoint';

export const getEndpointSecret = projectProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/endpoints/{id}/secret',
      summary: "Get an endpoint's signing secret",
      tags: ['Endpoints'],
      auth: 'apiKey',
    },
  })
  .input(z.strictObject({ id: endpointIdSchema }))
  .output(z.object({ secret: z.string() }))
  .query(async ({ ctx, input }) => {
    await findEndpoint(ctx.db, ctx.projectId, input.id);
    const [row] = await ctx.db
      .select({ secret: endpointSecrets.secret })
      .from(endpointSecrets)
      .where(and(eq(endpointSecrets.endpointId, input.id), isNull(endpointSecrets.expiresAt)))
      .orderBy(desc(endpointSecrets.id))
      .limit(1);
    // Deleted (with its secrets) since it was found: gone.
    if (!row) throw notFound('Endpoint');
    const secret = ctx.services.secretBox.open(row.secret, input.id);
    if (secret === null) throw secretUnreadable(ctx.services.logger, input.id);
    return { secret };
  });

/**
 * The secret is sealed under a key this process does not hold (`HERALD_SECRET_KEY` changed without
 * the old one in `HERALD_SECRET_KEY_PREVIOUS`, or a process started without it): the operator's to
 * fix, so a 500 that says so, and a warning naming the endpoint (never the stored value).
 */
function secretUnreadable(logger: Logger | undefined, endpointId: string) {
  logger?.warn(
    { endpointId },
    'endpoint signing secret is sealed under a key this process does not hold: set HERALD_SECRET_KEY (and HERALD_SECRET_KEY_PREVIOUS during a rotation)',
  );
  return apiError(
    'internal_error',
    "This server cannot read the endpoint's signing secret: its secret key is not configured as the one that sealed it",
  );
}
