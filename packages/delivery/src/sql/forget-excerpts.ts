import type { Queryable } from '@herald/db';
import { QUEUED_STATUSES_SQL } from '@herald/db';
import { sql } from 'drizzle-orm';

/** Event ids per statement. */
const CHUNK = 500;

const idsOf = (eventIds: string[]) => sql`any(string_to_array(${eventIds.join(',')}, ','))`;

/**
 * Erasure (in the API's transaction that deletes a user): the receivers' answers logged for these
 * events' deliveries go. A receiver that echoes the webhook (a validation error quoting the body,
 * say) put the user's data in its attempt's excerpt, which the API and the portal serve; cleared as
 * payload retention clears them.
 */
export async function forgetResponseExcerpts(tx: Queryable, projectId: string, eventIds: string[]): Promise<void> {
  if (eventIds.length === 0) return;
  await tx.execute(sql`update delivery_attempts a set response_body = null
    from deliveries d
    where d.event_id = ${idsOf(eventIds)} and d.project_id = ${projectId}
      and a.delivery_id = d.id and a.response_body is not null`);
}

/**
 * Erasure's last step, once every event is rewritten: every delivery of these events still queued
 * (pending, or in flight: being sent, or claimed with the data as it was) is marked
 * `excerpts_erased`, so an attempt written after the erasure keeps no answer (finish.ts). Pending
 * ones too: one claimed between this mark and the erasure's commit is sent with the old data (the
 * mark's lock makes claims skip it until then). Finished ones are not locked (an endpoint's
 * deletion locks those, then their attempts): a late attempt of one, made after its lease ran out,
 * keeps no answer whatever (finish-statement.ts). Locked in id order, as one statement per chunk,
 * and last, so that these rows are held only until the erasure commits (a dispatcher recording
 * their outcome waits for that). A delivery whose outcome was being written waits for it, and its
 * attempt, committed by then, is cleared by the second pass.
 */
export async function forgetLaterExcerpts(tx: Queryable, projectId: string, eventIds: string[]): Promise<void> {
  for (let i = 0; i < eventIds.length; i += CHUNK) {
    await tx.execute(sql`update deliveries d set excerpts_erased = true
      where d.id in (
          select q.id from deliveries q
          where q.event_id = ${idsOf(eventIds.slice(i, i + CHUNK))} and q.project_id = ${projectId}
            and q.status ${sql.raw(QUEUED_STATUSES_SQL)} and not q.excerpts_erased
          order by q.id
          for no key update)
        and d.status ${sql.raw(QUEUED_STATUSES_SQL)}`);
  }
  for (let i = 0; i < eventIds.length; i += CHUNK) {
    await forgetResponseExcerpts(tx, projectId, eventIds.slice(i, i + CHUNK));
  }
}
