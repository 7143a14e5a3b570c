import { sql } from 'drizzle-orm';
import { boolean, check, integer, pgTable, timestamp } from 'drizzle-orm/pg-core';

/**
 * The part of the partitioned history that can hold queued deliveries (one row). Claims
 * name it in every `deliveries` and `events` reference, so the planner leaves out the
 * finished days: with 30 days of retention there are ~35 partitions, and planning a claim
 * over all of them cost more than running it. Kept by `@herald/delivery`'s queue window
 * (`sql/queue-window.ts`): refreshed by dispatchers, lowered in the same transaction by
 * anything that queues a delivery of an older day (requeue, recover).
 */
export const deliveryQueueWindow = pgTable(
  'delivery_queue_window',
  {
    id: integer('id').primaryKey().default(1),
    /** No queued delivery (or event of one) has an id older than this; null: no floor. */
    floorAt: timestamp('floor_at', { withTimezone: true, mode: 'date' }),
    /** Queued deliveries may sit in the default partition (ids outside every day): no ceiling. */
    openEnded: boolean('open_ended').notNull().default(true),
    refreshedAt: timestamp('refreshed_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [check('delivery_queue_window_one_row', sql`${t.id} = 1`)],
);
