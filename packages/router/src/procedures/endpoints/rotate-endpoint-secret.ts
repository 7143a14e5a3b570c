import { endpointSecrets, newId } from '@herald/db';
import { generateSecret } from '@herald/signing';
import { and, eq, isNull, lte } from 'drizzle-orm';
import { z } from 'zod';
import { projectProcedure } from '../../trpc/init';
import { endpointIdSchema } from './endpoint-schemas';
import { findEndpoint } from './find-endpoint';

export const rotateEndpointSecret = projectProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/endpoints/{id}/rotate-secret',
      summary: 'Rotate the signing secret (old one signs too during the grace period)',
      tags: ['Endpoints'],
      auth: 'apiKey',
    },
  })
  .input(
    z.strictObject({
      id: endpointIdSchema,
      graceSeconds: z
        .number()
        .int()
        .min(0)
        .max(30 * 86400)
        .default(86400),
    }),
  )
  .output(z.object({ secret: z.string(), previousSecretExpiresAt: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const secret = generateSecret();
    const now = new Date();
    const expiresAt = new Date(now.getTime() + input.graceSeconds * 1000);
    await ctx.db.transaction(async (tx) => {
      await findEndpoint(tx, ctx.projectId, input.id);
      await tx
        .delete(endpointSecrets)
        .where(and(eq(endpointSecrets.endpointId, input.id), lte(endpointSecrets.expiresAt, now)));
      await tx
        .update(endpointSecrets)
        .set({ expiresAt })
        .where(and(eq(endpointSecrets.endpointId, input.id), isNull(endpointSecrets.expiresAt)));
      await tx
        .insert(endpointSecrets)
        .values({ id: newId('endpointSecret'), endpointId: input.id, secret, createdAt: now });
    });
    return { secret, previousSecretExpiresAt: expiresAt.toISOString() };
  });
