import { eventTypes } from '@herald/events';
import { z } from 'zod';
import { cursorSchema, listLimitSchema, pageSchema, toKeysetPage } from '../../services/pagination';
import { projectProcedure } from '../../trpc/init';
import { encodeFeedCursor, feedStart, readFeed } from './event-feed';
import { eventIdSchema, eventSchema, toEvent } from './event-schemas';

export const listEvents = projectProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/events',
      summary: 'The event feed: every event once, in the order of the transactions that wrote them',
      tags: ['Events'],
      auth: 'apiKey',
    },
  })
  .input(
    z
      .strictObject({
        limit: listLimitSchema,
        cursor: cursorSchema.optional(),
        /** For pollers: only events after this one (an id the feed returned). */
        after: eventIdSchema.optional(),
        type: z.enum(eventTypes).optional(),
      })
      .prefault({}),
  )
  .output(pageSchema(eventSchema))
  .query(async ({ ctx, input }) => {
    const from = await feedStart(ctx.db, ctx.projectId, input);
    const rows = await readFeed(ctx.db, { projectId: ctx.projectId, from, type: input.type, limit: input.limit });
    const page = toKeysetPage(rows, input.limit, encodeFeedCursor);
    return { data: page.data.map(toEvent), nextCursor: page.nextCursor };
  });
