import { isForeignKeyViolation } from '@herald/db';
import { eventTypes, getEventDefinition } from '@herald/events';
import { z } from 'zod';
import { apiError, notFound } from '../../errors';
import { changeWithEvents } from '../../services/change-with-events';
import { projectProcedure } from '../../trpc/init';
import { endpointIdSchema } from './endpoint-schemas';
import { findEndpoint } from './find-endpoint';

export const sendTestEvent = projectProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/endpoints/{id}/test',
      summary: 'Send an example event to this endpoint',
      tags: ['Endpoints'],
      successStatus: 202,
      auth: 'apiKey',
    },
  })
  .input(z.strictObject({ id: endpointIdSchema, eventType: z.enum(eventTypes) }))
  .output(z.object({ eventId: z.string(), eventType: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const endpoint = await findEndpoint(ctx.db, ctx.projectId, input.id);
    if (endpoint.disabled) throw apiError('conflict', 'The endpoint is disabled; enable it first');
    // Recorded as a new event, so receivers that deduplicate on webhook-id process it.
    const example = getEventDefinition(input.eventType).example;
    const { eventId } = await changeWithEvents(ctx, (_tx, emit) =>
      emit(input.eventType, example as never, { testEndpointId: endpoint.id }),
    ).catch((error: unknown) => {
      // The endpoint was deleted since it was found: its delivery's foreign key refused it.
      throw isForeignKeyViolation(error) ? notFound('Endpoint') : error;
    });
    return { eventId, eventType: input.eventType };
  });
