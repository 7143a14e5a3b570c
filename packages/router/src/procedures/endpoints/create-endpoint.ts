import { endpointSecrets, endpoints, newId } from '@herald/db';
import { generateSecret } from '@herald/signing';
import { z } from 'zod';
import { projectProcedure } from '../../trpc/init';
import { assertEndpointRoom } from './endpoint-limit';
import {
  assertEndpointUrl,
  customHeadersSchema,
  endpointDescriptionSchema,
  endpointSchema,
  endpointUrlInputSchema,
  eventTypesFilterSchema,
  maxInFlightInputSchema,
  orderingInputSchema,
  rateLimitInputSchema,
  toEndpoint,
} from './endpoint-schemas';
import { assertPortalMayChangeEndpoint } from './portal-endpoint-guard';

export const createEndpointInput = z.strictObject({
  url: endpointUrlInputSchema,
  description: endpointDescriptionSchema.optional(),
  /** Omitted or null: every event type. */
  eventTypes: eventTypesFilterSchema.optional(),
  headers: customHeadersSchema.optional(),
  disabled: z.boolean().optional(),
  maxInFlight: maxInFlightInputSchema.optional(),
  /** Default `none`. */
  ordering: orderingInputSchema.optional(),
  rateLimit: rateLimitInputSchema.optional(),
});

export const createEndpoint = projectProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/endpoints',
      summary: 'Create a webhook endpoint',
      tags: ['Endpoints'],
      successStatus: 201,
      auth: 'apiKey',
    },
  })
  .input(createEndpointInput)
  .output(z.object({ endpoint: endpointSchema, secret: z.string() }))
  .mutation(async ({ ctx, input }) => {
    assertPortalMayChangeEndpoint(ctx, input);
    const url = assertEndpointUrl(input.url, ctx.services.config.allowPrivateNetworks);
    const secret = generateSecret();
    return ctx.db.transaction(async (tx) => {
      await assertEndpointRoom(tx, ctx.projectId, 'http', ctx.services.config.maxEndpointsPerProject);
      const [row] = await tx
        .insert(endpoints)
        .values({
          id: newId('endpoint'),
          projectId: ctx.projectId,
          url,
          description: input.description ?? null,
          eventTypes: input.eventTypes ?? null,
          headers: input.headers ?? {},
          disabled: input.disabled ?? false,
          maxInFlight: input.maxInFlight ?? null,
          ordering: input.ordering ?? 'none',
          rateLimit: input.rateLimit ?? null,
        })
        .returning();
      await tx.insert(endpointSecrets).values({
        id: newId('endpointSecret'),
        endpointId: row!.id,
        secret: ctx.services.secretBox.seal(secret, row!.id),
      });
      // The only response that carries the secret besides GET …/secret.
      return { endpoint: toEndpoint(row!, ctx), secret };
    });
  });
