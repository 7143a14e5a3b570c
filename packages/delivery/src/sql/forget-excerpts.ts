import type { Queryable } from '@herald/db';
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
 * Erasure's last step, once every event is rewritten: every delivery of these events is marked
 * `excerpts_erased`, so an attempt written after the erasure keeps no answer (finish.ts). Not only
 * those in flight now (being sent, or claimed with the data as it was): a pending one claimed
 * between this mark and the erasure's commit was sent with the old data too, and an attempt of a
 * finished one can still arrive (its lease ran out while it was sent: `lease_lost`). Marked pending
 * rows are locked until the erasure commits, so claims skip them until then. Last, so that these
 * rows are locked only briefly (a dispatcher recording an outcome waits for that). A delivery whose
 * outcome was being written waits for it, and its attempt, committed by then, is cleared by the
 * second pass.
 */
export async function forgetLaterExcerpts(tx: Queryable, projectId: string, eventIds: string[]): Promise<void> {
  for (let i = 0; i < eventIds.length; i += CHUNK) {
    await tx.execute(sql`update deliveries d set excerpts_erased = true
      where d.event_id = ${idsOf(eventIds.slice(i, i + CHUNK))} and d.project_id = ${projectId}
        and not d.excerpts_erased`);
  }
  for (let i = 0; i < eventIds.length; i += CHUNK) {
    await forgetResponseExcerpts(tx, projectId, eventIds.slice(i, i + CHUNK));
  }
}
