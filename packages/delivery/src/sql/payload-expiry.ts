import type { Database } from '@herald/db';
import { executeRows, idTimeBound, QUEUED_STATUSES_SQL } from '@herald/db';
import { sql } from 'drizzle-orm';

/** Rows per statement: short transactions, and autovacuum keeps up between them. */
const BATCH = 5_000;

export interface ExpiredPayloads {
  events: number;
  attempts: number;
}

/**
 * Payload retention, ahead of history retention: events older than `cutoff` whose deliveries
 * are all finished get `data = {}` and `payload_expired_at`; attempts of finished deliveries
 * older than it lose their response excerpt. Type, subject, status and timings stay. An event
 * with a pending or in-flight delivery keeps its payload until that delivery finishes, and one
 * whose payload expired is never sent again (requeue and recovery leave it, the dispatcher
 * fails it). The id bound prunes the scan to the partitions older than the cutoff.
 */
export async function expirePayloads(db: Database, cutoff: Date): Promise<ExpiredPayloads> {
  const expired: ExpiredPayloads = { events: 0, attempts: 0 };
  const eventBound = idTimeBound('event', cutoff.getTime());
  for (;;) {
    const rows = await executeRows<{ id: string }>(
      db,
      sql`update events set data = '{}'::jsonb, payload_expired_at = now()
          where id in (
            select e.id from events e
            where e.id < ${eventBound} and e.payload_expired_at is null
              and not exists (select 1 from deliveries d
                              where d.event_id = e.id and d.status ${sql.raw(QUEUED_STATUSES_SQL)})
            limit ${BATCH})
          returning id`,
    );
    expired.events += rows.length;
    if (rows.length < BATCH) break;
  }
  const attemptBound = idTimeBound('attempt', cutoff.getTime());
  for (;;) {
    const rows = await executeRows<{ id: string }>(
      db,
      sql`update delivery_attempts set response_body = null
          where id in (
            select a.id from delivery_attempts a
            where a.id < ${attemptBound} and a.response_body is not null
              and not exists (select 1 from deliveries d
                              where d.id = a.delivery_id and d.status ${sql.raw(QUEUED_STATUSES_SQL)})
            limit ${BATCH})
          returning id`,
    );
    expired.attempts += rows.length;
    if (rows.length < BATCH) break;
  }
  return expired;
}
