import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
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
    /**
     * The id of the resource the event is about (`subjectOf` in @herald/events):
     * the user's id for `user.*`, the endpoint's for `endpoint.*`. Erasure finds
     * a person's events by it.
     */
    subject: text('subject'),
    /**
     * The event's place in its subject's history: 1, 2, 3, … per (project,
     * subject), taken from `subject_sequences` inside the writing transaction,
     * so it follows commit order whatever the writers' clocks. Null without a
     * subject, and on events written before sequences existed.
     */
    sequence: bigint('sequence', { mode: 'number' }),
    /**
     * The writing transaction's id. Event ids are made before commit and
     * transactions commit out of order, so the feed orders by (txid, id) and
     * serves only transactions older than every one still running: what
     * commits later always sorts after what was served. 0 for events written
     * before this column existed.
     */
    txid: bigint('txid', { mode: 'number' }).notNull().default(sql`pg_current_xact_id()::text::bigint`),
    /** Example events sent by "send test event": delivered to one endpoint, never listed or fanned out. */
    isTest: boolean('is_test').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    /**
     * When payload retention cleared `data` (to `{}`), every delivery of the event being
     * finished; type, subject, timings stay. Never sent again once set.
     */
    payloadExpiredAt: timestamp('payload_expired_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    // The feed: GET /v1/events in (txid, id) order, with or without a type.
    index('events_project_txid_id_idx').on(t.projectId, t.txid, t.id),
    index('events_project_type_txid_id_idx').on(t.projectId, t.type, t.txid, t.id),
    // A subject's events in id order: erasure reads a user's history in batches of 500 from an id
    // on (with the subject alone, each batch read and sorted the whole rest of it: 17 s for 100,000).
    index('events_project_subject_id_idx').on(t.projectId, t.subject, t.id),
    // Failed sign-ins of an unknown user, by the address tried: erasure finds those of a user's
    // addresses without reading every one of its project's (credential stuffing leaves millions).
    index('events_failed_login_email_idx')
      .on(t.projectId, sql`lower(${t.data} ->> 'email')`, t.id)
      .where(sql`${t.subject} is null and ${t.type} = 'user.login.failed'`),
    // Payload retention finds the events still holding a payload past its cutoff without reading
    // the expired ones (weeks of them) again on every run.
    index('events_payload_kept_idx').on(t.id).where(sql`${t.payloadExpiredAt} is null`),
  ],
);

/**
 * The last sequence number given to each subject. Taking the next one updates
 * the subject's row, which stays locked until the writing transaction ends: a
 * second writer of the same subject waits, then gets the next number.
 */
export const subjectSequences = pgTable(
  'subject_sequences',
  {
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    subject: text('subject').notNull(),
    lastSequence: bigint('last_sequence', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.subject] })],
);
