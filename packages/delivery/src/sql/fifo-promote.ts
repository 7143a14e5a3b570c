import type { Queryable } from '@herald/db';
import { QUEUED_STATUSES_SQL } from '@herald/db';
import { sql } from 'drizzle-orm';
import { isUnattempted } from './due';

/**
 * Most rows of one FIFO endpoint that must wait a claim passes over looking for rows it may take:
 * with this many waiting in front, it parks them instead (claim.ts), so a claim's cost is bounded
 * whatever the backlog. More than the rows an endpoint can have in flight (384 by default): a
 * subject's next rows waiting behind deliveries in flight are few, and parking costs two writes.
 */
export const FIFO_LOOKAHEAD = 1_000;

/** A FIFO delivery that left the queue: its subject's next delivery may go. */
export interface EndedFifoDelivery {
  endpointId: string;
  subject: string;
}

/**
 * pending, parked → pending, due at its creation (its place in line): the first queued delivery
 * of each (endpoint, subject) whose delivery `ended` (succeeded, failed, failed unsent), if a
 * claim parked it (claim.ts). Run after the statement that ended them has committed, as a
 * statement of its own, so that it sees every park committed before that one could: a claim parks
 * a row only while it holds a key-share lock on the pending row it waits for, which no claim can
 * take (FOR UPDATE) meanwhile, so that row ends after the park commits. A due row is left alone
 * (writing it would hold it from claims). Its lock (no key update) does not conflict with a claim's
 * key-share lock on the same row (held as another row's blocker: it was skipped, and its subject
 * waited a lease); a row locked otherwise (by a recovery that requeues its subject) is skipped rather
 * than waited for: this runs in the outcome writer's loop, for every tenant's outcomes.
 *
 * Rows are found by the subject index in every day of the history (the next queued one is not in
 * the ended one's day). A promotion lost (the process died between the two statements, or the
 * endpoint became FIFO while the ended one was in flight) costs the parked row one lease: claims
 * park until then.
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
        and ${isUnattempted('n')} and n.next_attempt_at > now()
      for no key update skip locked
    )
    update deliveries n
    set next_attempt_at = least(n.created_at, now()), updated_at = now()
    where n.id = any(array(select id from next))`);
}

/** The FIFO deliveries with a subject among `deliveries` (as claimed): what `promoteNextOfSubjects` takes. */
export function endedFifo(
  deliveries: Iterable<{ endpoint: { id: string; fifo: boolean }; event: { subject?: string | null } }>,
): EndedFifoDelivery[] {
  const ended: EndedFifoDelivery[] = [];
  for (const d of deliveries) {
    if (d.endpoint.fifo && d.event.subject != null) ended.push({ endpointId: d.endpoint.id, subject: d.event.subject });
  }
  return ended;
}
