import type { Database } from '@herald/db';
import { QUEUED_STATUSES_SQL } from '@herald/db';
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
 */
export async function lockQueuedOfFifoSubjects(tx: Database, pairs: SQL): Promise<void> {
  await tx.execute(sql`select 1 from deliveries q
    where (q.endpoint_id, q.subject) in (
        select p.endpoint_id, p.subject from (${pairs}) p(endpoint_id, subject)
        where p.subject is not null
          and exists (select 1 from endpoints e where e.id = p.endpoint_id and e.ordering = 'fifo'))
      and q.status ${sql.raw(QUEUED_STATUSES_SQL)}
    for update`);
}
