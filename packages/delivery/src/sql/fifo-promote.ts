import type { Queryable } from '@herald/db';
import { QUEUED_STATUSES_SQL } from '@herald/db';
import { sql } from 'drizzle-orm';
import { isParked } from './due';

/** A FIFO delivery that left the queue: its subject's next delivery may go. */
export interface EndedFifoDelivery {
  endpointId: string;
  subject: string;
}

/**
 * pending, parked → pending, due at its creation (its place in line): the first queued delivery
 * of each (endpoint, subject) whose delivery `ended` (succeeded, failed, failed unsent), if a
 * claim parked it (claim.ts), marked `wakes_next` in turn (a row may have been parked behind it).
 * Only deliveries marked are passed (`endedFifo`): a claim marks the pending row a row is parked
 * behind, in the statement that parks it, while holding a lock on it that makes every other claim
 * skip it; so the claim that takes it reads the mark. A parked row is marked by its promotion
 * instead. The park job marks the heads, the rows it parks and the rows they wait for; a manual
 * retry and a recovery the rows they queue.
 *
 * Run after the statement that ended them has committed, as a statement of its own, so that it
 * sees every park committed before that one could: the row waited for ends after the park commits
 * (it is claimed after). A due row is left alone (writing it would hold it from claims). Its lock
 * (no key update) does not conflict with a claim's key-share lock on a marked or parked row (held as
 * another row's blocker); one locked otherwise (by the park job marking it, or a recovery that
 * requeues its subject) is skipped rather than waited for: this runs in the outcome writer's loop,
 * for every tenant's outcomes.
 *
 * Rows are found by the subject index in every day of the history (the next queued one is not in
 * the ended one's day). A promotion lost (the process died between the two statements, a skipped
 * row) costs a claim-parked row one lease: claims park until then. Rows parked by the park job of a
 * version before the mark wait for their head's retry, as they did, unless the head is retried by
 * hand (a manual retry marks it, and each promotion the row it promotes).
 */
export async function promoteNextOfSubjects(db: Queryable, ended: readonly EndedFifoDelivery[]): Promise<void> {
  if (ended.length === 0) return;
  const pairs = JSON.stringify(ended.map((e) => ({ endpoint_id: e.endpointId, subject: e.subject })));
  await db.execute(sql`with next as (
      select n.id from deliveries n
      where n.id = any(array(
          select nx.id
          from (select distinct p.endpoint_id, p.subject
                from jsonb_to_recordset(${pairs}::jsonb) as p(endpoint_id text, subject text)) f
          join endpoints e on e.id = f.endpoint_id and e.ordering = 'fifo'
          cross join lateral (
            select q.id from deliveries q
            where q.endpoint_id = f.endpoint_id and q.subject = f.subject and q.status ${sql.raw(QUEUED_STATUSES_SQL)}
            order by q.endpoint_id, q.subject, q.sequence
            limit 1) nx))
        and ${isParked('n')}
      for no key update skip locked
    )
    update deliveries n
    set next_attempt_at = least(n.created_at, now()), updated_at = now(), wakes_next = true
    where n.id = any(array(select id from next))`);
}

/**
 * The deliveries among `deliveries` (as claimed) that a later one of their subject was parked
 * behind (`wakesNext`): what `promoteNextOfSubjects` takes. The others have no parked row to
 * promote, and cost no statement: a FIFO backlog that never clogs (many subjects) parks nothing.
 */
export function endedFifo(
  deliveries: Iterable<{ wakesNext: boolean; endpoint: { id: string }; event: { subject?: string | null } }>,
): EndedFifoDelivery[] {
  const ended: EndedFifoDelivery[] = [];
  for (const d of deliveries) {
    if (d.wakesNext && d.event.subject != null) ended.push({ endpointId: d.endpoint.id, subject: d.event.subject });
  }
  return ended;
}
