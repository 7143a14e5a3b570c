import { deliveries, isQueued } from '@herald/db';
import { sql } from 'drizzle-orm';

/**
 * The one "due" condition: queued (pending, or in flight under a lease) and
 * its time has come. For an in-flight delivery `next_attempt_at` is the end
 * of its lease, so an expired lease is simply due again. The partial index
 * `deliveries_due_idx` is defined on the same `isQueued` predicate, so the
 * claim and the metrics query are both index scans.
 */
export const isDue = sql`${isQueued(deliveries.status)} and ${deliveries.nextAttemptAt} <= now()`;
