import { endpoints } from '@herald/db';
import { wakeParkedOfEndpoint } from '@herald/delivery';
import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { apiError, notFound } from '../../errors';
import { projectProcedure } from '../../trpc/init';
import {
  assertEndpointUrl,
  customHeadersSchema,
  endpointDescriptionSchema,
  endpointIdSchema,
  endpointSchema,
  endpointUrlInputSchema,
  eventTypesFilterSchema,
  maxInFlightInputSchema,
  orderingInputSchema,
  rateLimitInputSchema,
  toEndpoint,
} from './endpoint-schemas';
import { findEndpoint } from './find-endpoint';
import { assertPortalMayChangeEndpoint, headersHiddenHere, portalMovesEndpoint } from './portal-endpoint-guard';

export const updateEndpoint = projectProcedure
  .meta({
    openapi: {
      method: 'PATCH',
      path: '/endpoints/{id}',
      summary: 'Update a webhook endpoint',
      tags: ['Endpoints'],
      auth: 'apiKey',
    },
  })
  .input(
    z.strictObject({
      id: endpointIdSchema,
      url: endpointUrlInputSchema.optional(),
      description: endpointDescriptionSchema.optional(),
      eventTypes: eventTypesFilterSchema.optional(),
      headers: customHeadersSchema.optional(),
      disabled: z.boolean().optional(),
      maxInFlight: maxInFlightInputSchema.optional(),
      ordering: orderingInputSchema.optional(),
      rateLimit: rateLimitInputSchema.optional(),
    }),
  )
  .output(endpointSchema)
  .mutation(async ({ ctx, input }) => {
    const { id, ...changes } = input;
    if (changes.url !== undefined)
      changes.url = assertEndpointUrl(changes.url, ctx.services.config.allowPrivateNetworks);
    const current = await findEndpoint(ctx.db, ctx.projectId, id);
    assertPortalMayChangeEndpoint(ctx, changes, current);
    assertListenMayTake(current.kind, changes);
    const patch: Partial<typeof endpoints.$inferInsert> = { updatedAt: new Date() };
    if (changes.url !== undefined && changes.url !== current.url) {
      patch.url = changes.url;
      // Another receiver: slow until it answers (claim.ts), as a new endpoint is. Its old answer
      // times would give a receiver that hangs the fast cap, its project's every slot.
      patch.latencyMs = null;
      // Nor does it inherit the old one's failures: a run of them since days ago would disable it at
      // its first failed attempt, and timeouts in a row would give it one slot and longer retries.
      patch.failingSince = null;
      patch.timeoutsInRow = 0;
    }
    if (changes.description !== undefined) patch.description = changes.description;
    if (changes.eventTypes !== undefined) patch.eventTypes = changes.eventTypes;
    if (changes.headers !== undefined) patch.headers = changes.headers;
    if (changes.maxInFlight !== undefined) patch.maxInFlight = changes.maxInFlight;
    if (changes.ordering !== undefined) patch.ordering = changes.ordering;
    if (changes.rateLimit !== undefined) {
      patch.rateLimit = changes.rateLimit;
      // A new limit starts with a full bucket of its own size.
      patch.rateTokens = null;
      patch.rateRefilledAt = null;
    }
    if (changes.disabled !== undefined) {
      patch.disabled = changes.disabled;
      // Re-enabling starts a fresh failure window.
      patch.disabledReason = changes.disabled ? 'manual' : null;
      patch.failingSince = null;
    }
    // A portal session moving the endpoint: only while it still has no custom headers (an API key
    // may have added some since the check above).
    const moving = portalMovesEndpoint(ctx, changes) && changes.url !== current.url;
    const [row] = await ctx.db
      .update(endpoints)
      .set(patch)
      .where(
        and(
          eq(endpoints.projectId, ctx.projectId),
          eq(endpoints.id, id),
          moving ? sql`${endpoints.headers} = '{}'::jsonb` : undefined,
        ),
      )
      .returning();
    if (!row) {
      // Given custom headers meanwhile: refused as the check would have; else deleted since it was found
      // (a concurrent DELETE): gone, as a lookup now would say.
      if (moving) {
        await findEndpoint(ctx.db, ctx.projectId, id);
        throw headersHiddenHere();
      }
      throw notFound('Endpoint');
    }
    // No longer FIFO: deliveries parked behind a subject's retry are free to go (sql/fifo-park.ts).
    if (changes.ordering !== undefined && row.ordering !== 'fifo') await wakeParkedOfEndpoint(ctx.db, row.id);
    return toEndpoint(row, ctx);
  });

/**
 * A `herald listen` endpoint's deliveries go one stream at a time to the CLI (claim-relay.ts),
 * which keeps neither a subject's order nor a rate or an in-flight cap: those settings are refused
 * rather than accepted and shown while nothing applies them.
 */
function assertListenMayTake(
  kind: string,
  changes: {
    ordering?: string | undefined;
    rateLimit?: number | null | undefined;
    maxInFlight?: number | null | undefined;
  },
) {
  if (kind !== 'listen') return;
  const set = [
    changes.ordering !== undefined && changes.ordering !== 'none' ? 'ordering' : null,
    changes.rateLimit !== undefined && changes.rateLimit !== null ? 'rateLimit' : null,
    changes.maxInFlight !== undefined && changes.maxInFlight !== null ? 'maxInFlight' : null,
  ].filter((name) => name !== null);
  if (set.length > 0) {
    throw apiError(
      'validation_error',
      `A herald listen endpoint takes no ${set.join(', ')}: its CLI gets its deliveries as they come`,
      set.map((name) => ({ path: name, code: 'custom', message: 'not applied to a herald listen endpoint' })),
    );
  }
}
