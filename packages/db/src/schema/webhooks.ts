import type { AnyColumn } from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  real,
  text,
  timestamp,
} from 'drizzle-orm/pg-core';
import { projects } from './tenancy';

export const endpointOrderings = ['none', 'fifo'] as const;
export type EndpointOrdering = (typeof endpointOrderings)[number];

/**
 * `http`: the dispatcher sends its deliveries. `listen`: a development endpoint of `herald listen`;
 * the dispatcher never claims its deliveries, the API streams them to the CLI instead.
 */
export const endpointKinds = ['http', 'listen'] as const;
export type EndpointKind = (typeof endpointKinds)[number];

export const endpoints = pgTable(
  'endpoints',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    description: text('description'),
    /** null means every event type. */
    eventTypes: text('event_types').array(),
    headers: jsonb('headers').$type<Record<string, string>>().notNull().default({}),
    disabled: boolean('disabled').notNull().default(false),
    disabledReason: text('disabled_reason'),
    /** Start of the current run of failures; cleared by any success. */
    failingSince: timestamp('failing_since', { withTimezone: true, mode: 'date' }),
    /** Most requests in flight to this endpoint across all dispatchers; null: the dispatcher's default. */
    maxInFlight: integer('max_in_flight'),
    /** `fifo`: one subject's deliveries go out one at a time, in sequence order. */
    ordering: text('ordering', { enum: endpointOrderings }).notNull().default('none'),
    kind: text('kind', { enum: endpointKinds }).notNull().default('http'),
    /** Most deliveries per second to this endpoint across all dispatchers; null: no limit. */
    rateLimit: integer('rate_limit'),
    /** The rate limit's token bucket: whole tokens left at `rateRefilledAt` (null: full). */
    rateTokens: doublePrecision('rate_tokens'),
    rateRefilledAt: timestamp('rate_refilled_at', { withTimezone: true, mode: 'date' }),
    /** Moving average of how long the endpoint takes to answer (ms); null until its first attempt. */
    latencyMs: real('latency_ms'),
    /** Attempts in a row that timed out; an endpoint that keeps timing out gets one slot and later retries. */
    timeoutsInRow: integer('timeouts_in_row').notNull().default(0),
    /**
     * A `listen` endpoint: when a `herald listen` stream last held it (set when one opens and every
     * hour while it stays open). Maintenance deletes a development endpoint no stream has held for
     * a day: a CLI killed before it could delete its own leaves it behind.
     */
    lastStreamedAt: timestamp('last_streamed_at', { withTimezone: true, mode: 'date' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('endpoints_project_id_idx').on(t.projectId, t.id)],
);

/**
 * Signing secrets of an endpoint. The current one has no `expiresAt`; after a
 * rotation the old one keeps signing until it expires (grace period).
 */
export const endpointSecrets = pgTable(
  'endpoint_secrets',
  {
    id: text('id').primaryKey(),
    endpointId: text('endpoint_id')
      .notNull()
      .references(() => endpoints.id, { onDelete: 'cascade' }),
    secret: text('secret').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [index('endpoint_secrets_endpoint_idx').on(t.endpointId)],
);

export const deliveryStatuses = ['pending', 'in_flight', 'succeeded', 'failed'] as const;
export type DeliveryStatus = (typeof deliveryStatuses)[number];

/**
 * Queued deliveries: still to be sent (pending, or in flight under a lease
 * that may run out). The queued indexes' predicate, and with
 * `next_attempt_at <= now()` the dispatcher's "due" condition.
 */
export const QUEUED_STATUSES_SQL = "in ('pending', 'in_flight')";
export const isQueued = (status: AnyColumn) => sql`${status} ${sql.raw(QUEUED_STATUSES_SQL)}`;

/**
 * One event for one endpoint. While `pending` or `in_flight`,
 * `nextAttemptAt` is when a worker may take it: the retry time, or for an
 * in-flight delivery the end of the claimer's lease, so an expired lease
 * is simply due again.
 */
export const deliveries = pgTable(
  'deliveries',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    endpointId: text('endpoint_id')
      .notNull()
      .references(() => endpoints.id, { onDelete: 'cascade' }),
    // No foreign key to events (nor from attempts to here): an event's deliveries and a delivery's
    // attempts carry ids minted at the event's time, so they live in the event's day partition, and
    // retention detaches a day's three partitions without checks, then drops them. A key between
    // partitioned tables would make each detach join the referencing table, and lock two at once. Retention keeps a day while any queued delivery points
    // into it; reads join deliveries to their event, so a row whose event is gone is not found.
    eventId: text('event_id').notNull(),
    status: text('status', { enum: deliveryStatuses }).notNull().default('pending'),
    attemptCount: integer('attempt_count').notNull().default(0),
    /**
     * Attempts made before the current retry schedule began: a manual retry
     * or a recovery starts the schedule again without renumbering attempts.
     */
    scheduleOffset: integer('schedule_offset').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, mode: 'date' }),
    leaseOwner: text('lease_owner'),
    /** The event's subject and sequence, copied so a FIFO claim finds a subject's earlier deliveries by index. */
    subject: text('subject'),
    sequence: bigint('sequence', { mode: 'number' }),
    /**
     * FIFO: a claim parked a later delivery of its subject behind this one, so when this one
     * leaves the queue its subject's next is made due (fifo-promote.ts in @herald/delivery).
     */
    wakesNext: boolean('wakes_next').notNull().default(false),
    /**
     * Its event's user was erased while it was in flight (sent, or claimed to be, with the data as
     * it was): no attempt of it keeps the receiver's answer, which may echo that data.
     */
    excerptsErased: boolean('excerpts_erased').notNull().default(false),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    completedAt: timestamp('completed_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    // No index on the due time alone: every reader of the queue goes by endpoint (the claim's skip
    // scan, its in-flight counts, the relay) or reads every queued row anyway (metrics, the queue
    // window's probes), and each index on a queued column is written at every claim (a claim and an
    // outcome are not HOT updates): dropped in 0011, one index entry less per delivery queued and claimed.
    index('deliveries_endpoint_idx').on(t.endpointId, t.status, t.id),
    // Fair claiming walks the endpoints that have queued work, oldest delivery first in each.
    index('deliveries_queued_endpoint_idx').on(t.endpointId, t.nextAttemptAt).where(isQueued(t.status)),
    // An event's deliveries. Not unique: a unique index on a partitioned table must contain the
    // partition key (id). One delivery per event and endpoint holds by construction (fan-out) and,
    // for recovery, under a per-endpoint advisory lock (sql/queue-missed.ts in @herald/delivery).
    // The event id alone: an event's deliveries share one entry (B-tree deduplication), so the
    // index is an eighth of (event_id, endpoint_id) at a fan-out of ten; an event has few deliveries to filter.
    index('deliveries_event_idx').on(t.eventId),
    // FIFO: a subject's earlier queued deliveries to the endpoint.
    index('deliveries_queued_subject_idx')
      .on(t.endpointId, t.subject, t.sequence)
      .where(sql`${t.status} ${sql.raw(QUEUED_STATUSES_SQL)} and ${t.subject} is not null`),
  ],
);

export const deliveryAttempts = pgTable(
  'delivery_attempts',
  {
    id: text('id').primaryKey(),
    /** Its delivery, in the same day partition (no foreign key: see deliveries.eventId). */
    deliveryId: text('delivery_id').notNull(),
    attemptNumber: integer('attempt_number').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull(),
    durationMs: integer('duration_ms').notNull(),
    statusCode: integer('status_code'),
    errorClass: text('error_class'),
    errorMessage: text('error_message'),
    /** At most 4 KB of what the receiver answered. */
    responseBody: text('response_body'),
  },
  (t) => [index('delivery_attempts_delivery_idx').on(t.deliveryId, t.attemptNumber)],
);
