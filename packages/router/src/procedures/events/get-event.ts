import { events } from '@herald/db';
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { notFound } from '../../errors';
import { projectProcedure } from '../../trpc/init';
import { eventIdSchema, eventSchema, toEvent } from './event-schemas';

export const getEvent = projectProcedure
  .meta({ openapi: { method: 'GET', path: '/events/{id}', summary: 'Get an event', tags: ['Events'], auth: 'apiKey' } })
  .input(z.strictObject({ id: eventIdSchema }))
  .output(eventSchema)
  .query(async ({ ctx, input }) => {
    const [row] = await ctx.db
      .select()
      .from(events)
      .where(and(eq(events.projectId, ctx.projectId), eq(events.id, input.id), eq(events.isTest, false)))
      .limit(1);
    if (!row) throw notFound('Event');
    return toEvent(row);
  });
