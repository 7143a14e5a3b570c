import { endpointSecrets } from '@herald/db';
import { and, desc, eq, isNull } from 'drizzle-orm';
import { z } from 'zod';
import { notFound } from '../../errors';
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
    return { secret: row.secret };
  });
