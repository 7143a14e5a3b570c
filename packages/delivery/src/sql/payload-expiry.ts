import type { Database } from '@herald/db';
import { executeRows, idTimeBound, idTimestamp, QUEUED_STATUSES_SQL } from '@herald/db';
import { sql } from 'drizzle-orm';

/** Events per batch: short transactions, and autovacuum keeps up between them. */
const BATCH = 5_000;

export interface ExpiredPayloads {
  events: number;
  attempts: number;
}

export interface ExpiredPayloadsBatch extends ExpiredPayloads {
  /** The batch was full: more may be due. */
  more: boolean;
}

const queued = sql.raw(QUEUED_STATUSES_SQL);

/**
 * Payload retention, ahead of history retention: events older than `cutoff` whose deliveries
 * are all finished get `data = {}` and `payload_expired_at`, and their deliveries' attempts lose
 * their response excerpt, together. Type, subject, status and timings stay. An event with a
 * pending or in-flight delivery keeps its payload (and its attempts their excerpts) until that
 * delivery finishes, and one whose payload expired is never sent again (requeue and recovery
 * leave it, the dispatcher fails it).
 *
 * One batch: the caller commits each in a transaction of its own (maintenance.ts). All batches in
 * one transaction held every row they cleared until the whole run ended (57 s for 300,000
 * events), so a user's erasure waited for it, or deadlocked with it and rolled the whole run back.
 * The batch's events are locked first, in id order, skipping any another transaction holds (an
 * erasure rewriting them: the next run takes them), so this never waits for one.
 *
 * Each run reads only what is left to expire: the events still holding a payload, through a
 * partial index (`events_payload_kept_idx`), then that batch's deliveries and attempts, pruned
 * to the batch's days (an event's deliveries and their attempts carry ids minted at its time).
 * Weeks of expired history are never read again.
 */
export async function expirePayloadsBatch(db: Database, cutoff: Date): Promise<ExpiredPayloadsBatch> {
  const expired: ExpiredPayloadsBatch = { events: 0, attempts: 0, more: false };
  const eventBound = idTimeBound('event', cutoff.getTime());
  const due = await executeRows<{ id: string }>(
    db,
    sql`select e.id from events e
        where e.id < ${eventBound} and e.payload_expired_at is null
          and not exists (select 1 from deliveries d where d.event_id = e.id and d.status ${queued})
        order by e.id
        limit ${BATCH}
        for update skip locked`,
  );
  if (due.length === 0) return expired;
  expired.more = due.length === BATCH;
  const ids = due.map((r) => r.id);
  const from = idTimestamp(ids[0]!)!.getTime();
  const to = idTimestamp(ids.at(-1)!)!.getTime() + 1;
  const within = (column: 'e.id' | 'd.id' | 'a.id', kind: 'event' | 'delivery' | 'attempt') =>
    sql`${sql.raw(column)} >= ${idTimeBound(kind, from)} and ${sql.raw(column)} < ${idTimeBound(kind, to)}`;
  // Literal bounds prune every statement to the batch's partitions (ids hold no comma); the
  // queued check is repeated, as a delivery may have been requeued since the select.
  const events = await executeRows<{ id: string }>(
    db,
    sql`update events e set data = '{}'::jsonb, payload_expired_at = now()
        where ${within('e.id', 'event')} and e.id = any(string_to_array(${ids.join(',')}, ',')) and e.payload_expired_at is null
          and not exists (select 1 from deliveries d where d.event_id = e.id and d.status ${queued})
        returning e.id`,
  );
  expired.events = events.length;
  if (events.length > 0) {
    const attempts = await executeRows<{ id: string }>(
      db,
      sql`update delivery_attempts a set response_body = null
          from deliveries d
          where ${within('d.id', 'delivery')} and d.event_id = any(string_to_array(${events.map((r) => r.id).join(',')}, ','))
            and ${within('a.id', 'attempt')} and a.delivery_id = d.id and a.response_body is not null
          returning a.id`,
    );
    expired.attempts = attempts.length;
  }
  return expired;
}
