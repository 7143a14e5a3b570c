import { events } from '@herald/db';
import { eventTypes } from '@herald/events';
import { and, asc, eq, gt } from 'drizzle-orm';
import { z } from 'zod';
import { cursorSchema, listLimitSchema, pageSchema, toPage } from '../../services/pagination';
import { projectProcedure } from '../../trpc/init';
import { eventIdSchema, eventSchema, toEvent } from './event-schemas';

export const listEvents = projectProcedure
  .meta({
    openapi: { method: 'GET', path: '/events', summary: 'List events, oldest first', tags: ['Events'], auth: 'apiKey' },
  })
  .input(
    z
      .strictObject({
        limit: listLimitSchema,
        cursor: cursorSchema.optional(),
        /** For pollers: only events after this one. */
        after: eventIdSchema.optional(),
        type: z.enum(eventTypes).optional(),
      })
      .prefault({}),
  )
  .output(pageSchema(eventSchema))
  .query(async ({ ctx, input }) => {
    const from = input.cursor ?? input.after;
    const rows = await ctx.db
      .select()
      .from(events)
      .where(
        and(
          eq(events.projectId, ctx.projectId),
          eq(events.isTest, false),
          from ? gt(events.id, from) : undefined,
          input.type ? eq(events.type, input.type) : undefined,
        ),
      )
      .orderBy(asc(events.id))
      .limit(input.limit + 1);
    return toPage(rows.map(toEvent), input.limit);
  });
