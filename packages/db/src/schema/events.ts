import { boolean, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { projects } from './tenancy';

export const events = pgTable(
  'events',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    version: integer('version').notNull(),
    data: jsonb('data').$type<unknown>().notNull(),
    /** Example events sent by "send test event": delivered to one endpoint, never listed or fanned out. */
    isTest: boolean('is_test').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    index('events_project_id_idx').on(t.projectId, t.id),
    index('events_project_type_id_idx').on(t.projectId, t.type, t.id),
  ],
);
