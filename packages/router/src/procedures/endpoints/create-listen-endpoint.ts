import { endpointSecrets, endpoints, newId } from '@herald/db';
import { generateSecret } from '@herald/signing';
import { z } from 'zod';
import { apiError } from '../../errors';
import { projectProcedure } from '../../trpc/init';
import { assertEndpointRoom } from './endpoint-limit';
import {
  endpointDescriptionSchema,
  endpointSchema,
  endpointUrlInputSchema,
  eventTypesFilterSchema,
  toEndpoint,
} from './endpoint-schemas';

export const createListenEndpointInput = z.strictObject({
  /** Where the CLI forwards deliveries, on the developer's machine (`http://localhost:3000/webhooks`). */
  forwardTo: endpointUrlInputSchema,
  description: endpointDescriptionSchema.optional(),
  /** Omitted or null: every event type. */
  eventTypes: eventTypesFilterSchema.optional(),
});

/**
 * A development endpoint for `herald listen`. No dispatcher ever sends to it: its deliveries are
 * streamed to the CLI by the API (`GET /v1/endpoints/{id}/listen`), signed with this endpoint's
 * secret, and the CLI forwards them to `forwardTo` on its own machine. So `forwardTo` is stored as
 * the endpoint's URL for display only and is not vetted like a webhook destination (it is meant to
 * be `localhost`); it must still be an http(s) URL. The CLI deletes the endpoint when it exits.
 */
export const createListenEndpoint = projectProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/endpoints/listen',
      summary: 'Create a development endpoint for herald listen',
      tags: ['Endpoints'],
      successStatus: 201,
      auth: 'apiKey',
    },
  })
  .input(createListenEndpointInput)
  .output(z.object({ endpoint: endpointSchema, secret: z.string() }))
  .mutation(async ({ ctx, input }) => {
    if (!isHttpUrl(input.forwardTo)) {
      const message = 'forwardTo must be an http(s) URL, e.g. http://localhost:3000/webhooks';
      throw apiError('validation_error', message, [{ path: 'forwardTo', message, code: 'invalid_url' }]);
    }
    const secret = generateSecret();
    return ctx.db.transaction(async (tx) => {
      await assertEndpointRoom(tx, ctx.projectId, 'listen', ctx.services.config.maxEndpointsPerProject);
      const [row] = await tx
        .insert(endpoints)
        .values({
          id: newId('endpoint'),
          projectId: ctx.projectId,
          kind: 'listen',
          url: input.forwardTo,
          description: input.description ?? 'herald listen',
          eventTypes: input.eventTypes ?? null,
        })
        .returning();
      await tx.insert(endpointSecrets).values({
        id: newId('endpointSecret'),
        endpointId: row!.id,
        secret: ctx.services.secretBox.seal(secret, row!.id),
      });
      return { endpoint: toEndpoint(row!, ctx), secret };
    });
  });

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}
