import type { Database } from '@herald/db';
import type { SQL } from 'drizzle-orm';
import { sql } from 'drizzle-orm';

/**
 * Locks the queued deliveries of each (endpoint, subject) pair `pairs` selects, for FIFO endpoints
 * only, before a transaction queues an earlier delivery of those subjects (a retry, a recovery).
 *
 * A claim checks FIFO in its own snapshot and locks what it takes until it commits. Without this
 * lock, a claim that had just taken a later delivery of a subject, and a claim that started after
 * the earlier one was queued (before the first claim committed), each took one: two of the
 * subject's deliveries in flight at once. With it, queuing waits for a claim taking one of them;
 * a claim that starts after the queuing commits sees the earlier delivery (and the later one in
 * flight), and one that started before does not see the earlier one at all.
 *
 * Pending rows only: a claim in progress is taking pending rows, so waiting for their locks waits
 * for it (once it commits, the row is in flight and no longer matches). Rows already in flight were
 * locked too, and their outcome writes then waited for the whole requeue to commit, every other
 * tenant's outcomes of the same group commit with them (a recovery of thousands: seconds).
 */
export async function lockQueuedOfFifoSubjects(tx: Database, pairs: SQL): Promise<void> {
  await tx.execute(sql`select 1 from deliveries q
    where (q.endpoint_id, q.subject) in (
        select p.endpoint_id, p.subject from (${pairs}) p(endpoint_id, subject)
        where p.subject is not null
          and exists (select 1 from endpoints e where e.id = p.endpoint_id and e.ordering = 'fifo'))
      and q.status = 'pending'
    for update`);
}
