import { endpointSecrets, newId } from '@herald/db';
import { generateSecret } from '@herald/signing';
import { and, eq, isNotNull, isNull } from 'drizzle-orm';
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
    const expiresAt = await ctx.db.transaction(async (tx) => {
      // Rotations of one endpoint run one at a time: unserialised, concurrent rotations each
      // expired the same current secret and inserted their own, leaving several current
      // secrets that never expire. Under READ COMMITTED the statements below, run after the
      // lock, see the secret a rotation committed while this one waited.
      await findEndpoint(tx, ctx.projectId, input.id, { forUpdate: true });
      // Taken after the lock, so a rotation that waited never expires a newer secret in the past.
      const now = new Date();
      const expiresAt = new Date(now.getTime() + input.graceSeconds * 1000);
      // At most two secrets sign after a rotation: the new one and the one it replaces, for its
      // grace period. Older ones still in theirs end now: kept, a rotation with no grace left a
      // leaked older secret signing for up to 30 days, and 400 rotations made a signature header
      // no receiver would read (431).
      await tx
        .delete(endpointSecrets)
        .where(and(eq(endpointSecrets.endpointId, input.id), isNotNull(endpointSecrets.expiresAt)));
      await tx
        .update(endpointSecrets)
        .set({ expiresAt })
        .where(and(eq(endpointSecrets.endpointId, input.id), isNull(endpointSecrets.expiresAt)));
      await tx.insert(endpointSecrets).values({
        id: newId('endpointSecret'),
        endpointId: input.id,
        secret: ctx.services.secretBox.seal(secret, input.id),
        createdAt: now,
      });
      return expiresAt;
    });
    return { secret, previousSecretExpiresAt: expiresAt.toISOString() };
  });
