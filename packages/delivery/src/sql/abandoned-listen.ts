import type { Database } from '@herald/db';
import { executeRows, QUEUED_STATUSES_SQL } from '@herald/db';
import type { SQL } from 'drizzle-orm';
import { sql } from 'drizzle-orm';

/**
 * How long a `herald listen` endpoint's delivery waits for a stream to take it. Only a live stream
 * sends these (no dispatcher does), and the CLI deletes its endpoint only on Ctrl-C: a killed CLI
 * leaves an endpoint whose deliveries nothing would ever finish, and retention keeps every day
 * that holds a queued delivery, with every tenant's history of that day.
 */
export const LISTEN_DELIVERY_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * How long a listen endpoint's delivery may be due (or its lease over) with no stream taking it.
 * A live stream takes a due delivery within seconds; one waiting for its retry is not due, and the
 * CLI's stream would take it then, however old the delivery is.
 */
export const LISTEN_UNTAKEN_MS = 60 * 60 * 1000;

/**
 * How long a `listen` endpoint may go without a stream before maintenance deletes it. The CLI makes
 * a new endpoint each run and deletes it when it stops; only its own reconnects (seconds apart) come
 * back to one. One a killed CLI left behind still gets a delivery of every event of its project,
 * for nothing: 20 a day (the project's quota) would add up for ever.
 */
export const LISTEN_ENDPOINT_IDLE_MS = 24 * 60 * 60 * 1000;

/** Abandoned `listen` endpoints deleted per maintenance run (the rest wait for the next). */
export const IDLE_LISTEN_ENDPOINTS_PER_RUN = 1_000;

/** How often an open stream marks its endpoint as held (`endpoints.last_streamed_at`). */
export const LISTEN_STREAM_TOUCH_MS = 60 * 60 * 1000;

/** Deliveries failed per statement (a short transaction each). */
export const ABANDONED_LISTEN_BATCH = 5_000;

/**
 * queued → failed (`listen_expired`), unsent: a listen endpoint's deliveries created more than
 * `LISTEN_DELIVERY_TTL_MS` before `now` that no stream took while they were due (due, or in
 * flight past their lease, for `LISTEN_UNTAKEN_MS`). One waiting for a retry later is left for
 * the stream that is still there. One batch; returns how many it failed.
 */
export async function failAbandonedListenBatch(db: Database, now: Date): Promise<number> {
  const cutoff = new Date(now.getTime() - LISTEN_DELIVERY_TTL_MS);
  const untakenSince = new Date(now.getTime() - LISTEN_UNTAKEN_MS);
  const failed = await executeRows<{ id: string }>(
    db,
    sql`update deliveries d
        set status = 'failed', next_attempt_at = null, lease_owner = null,
            last_error = 'listen_expired', completed_at = now(), updated_at = now()
        where d.id = any(array(
            select q.id from deliveries q
            where q.endpoint_id in (select id from endpoints where kind = 'listen')
              and q.status ${sql.raw(QUEUED_STATUSES_SQL)}
              and coalesce(q.next_attempt_at, '-infinity') <= ${untakenSince.toISOString()}::timestamptz
              and q.created_at < ${cutoff.toISOString()}::timestamptz
            limit ${ABANDONED_LISTEN_BATCH}
            for update skip locked))
          and d.status ${sql.raw(QUEUED_STATUSES_SQL)}
        returning d.id`,
  );
  return failed.length;
}

/**
 * `listen` endpoints no stream has held for `LISTEN_ENDPOINT_IDLE_MS` before `now` (one never
 * streamed counts from its creation), oldest first, at most `limit`.
 */
export async function idleListenEndpoints(
  db: Database,
  now: Date,
  limit: number,
): Promise<Array<{ id: string; projectId: string }>> {
  return executeRows<{ id: string; projectId: string }>(
    db,
    sql`select id, project_id as "projectId" from endpoints
        where ${idleListenEndpoint(now)}
        order by coalesce(last_streamed_at, created_at), id
        limit ${limit}`,
  );
}

/**
 * The condition on `endpoints` of one no stream has held for `LISTEN_ENDPOINT_IDLE_MS` before
 * `now`: checked again as each is deleted, since a stream may have come back since the list was read.
 */
export function idleListenEndpoint(now: Date): SQL {
  const idleSince = new Date(now.getTime() - LISTEN_ENDPOINT_IDLE_MS);
  return sql`endpoints.kind = 'listen' and coalesce(endpoints.last_streamed_at, endpoints.created_at) < ${idleSince.toISOString()}::timestamptz`;
}

/**
 * Marks a `listen` endpoint as held by a stream now; false when it is gone (deleted, or not a
 * `listen` endpoint any more).
 */
export async function touchListenEndpoint(db: Database, endpointId: string): Promise<boolean> {
  const rows = await executeRows(
    db,
    sql`update endpoints set last_streamed_at = now() where id = ${endpointId} and kind = 'listen' returning 1`,
  );
  return rows.length > 0;
}
