import { QUEUED_STATUSES_SQL } from '@herald/db';
import type { SQL } from 'drizzle-orm';
import { sql } from 'drizzle-orm';

/**
 * The one "due" condition, for the `deliveries` row named `alias`: queued
 * (pending, or in flight under a lease) and its time has come. For an
 * in-flight delivery `next_attempt_at` is the end of its lease, so an expired
 * lease is simply due again. The partial indexes `deliveries_queued_endpoint_idx`
 * and `deliveries_queued_subject_idx` are defined on the same queued predicate
 * (`isQueued` in `@herald/db`), so claims and metrics are index scans.
 */
export function isDue(alias = 'deliveries') {
  return sql.raw(`${alias}.status ${QUEUED_STATUSES_SQL} and ${alias}.next_attempt_at <= now()`);
}

/** Queued, due or not: what the indexes cover. */
export function isQueuedRow(alias = 'deliveries') {
  return sql.raw(`${alias}.status ${QUEUED_STATUSES_SQL}`);
}

/**
 * Pending with no attempt since it was queued: what FIFO parking may park. Such a row with a due
 * time ahead is a parked one (nothing else queues a row for later without an attempt); a row
 * waiting for its retry has had one.
 */
export function isUnattempted(alias: string) {
  return sql.raw(`${alias}.status = 'pending' and ${alias}.attempt_count = ${alias}.schedule_offset`);
}

/** Parked (by a claim or the park job): unattempted, due later. See `isUnattempted`. */
export function isParked(alias: string) {
  return sql.raw(
    `(${alias}.status = 'pending' and ${alias}.attempt_count = ${alias}.schedule_offset and ${alias}.next_attempt_at > now())`,
  );
}

/**
 * The select that finds the queued delivery just before the row named `r` in its FIFO subject (alias
 * `p`, with `columns` of it): an ordered lookup of one row in `deliveries_queued_subject_idx`. As an
 * EXISTS, the generic plan read every earlier row for each row (see `fifoHoldOf` in claim-fifo.ts).
 */
export function previousQueuedRow(r: string, columns: string, queuedRow: (alias: string) => SQL): SQL {
  return sql`select ${sql.raw(columns)} from deliveries p
            where p.endpoint_id = ${sql.raw(`${r}.endpoint_id`)} and p.subject = ${sql.raw(`${r}.subject`)}
              and p.sequence < ${sql.raw(`${r}.sequence`)} and ${queuedRow('p')}
            order by p.endpoint_id, p.subject, p.sequence desc
            limit 1`;
}
