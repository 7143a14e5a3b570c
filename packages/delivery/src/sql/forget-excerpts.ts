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
 * Erasure's last step, once every event is rewritten: a delivery of these events in flight now
 * (being sent, or claimed with the data as it was) has its attempt written after the erasure, so
 * it is marked `excerpts_erased` and its attempts keep no answer (finish.ts). Last, so that these
 * rows are locked only until the erasure commits (a dispatcher recording their outcome waits for
 * that). A delivery whose outcome was being written waits for it, is no longer in flight, and its
 * attempt, committed by then, is cleared by the second pass.
 */
export async function forgetInFlightExcerpts(tx: Queryable, projectId: string, eventIds: string[]): Promise<void> {
  for (let i = 0; i < eventIds.length; i += CHUNK) {
    await tx.execute(sql`update deliveries d set excerpts_erased = true
      where d.event_id = ${idsOf(eventIds.slice(i, i + CHUNK))} and d.project_id = ${projectId}
        and d.status = 'in_flight' and not d.excerpts_erased`);
  }
  for (let i = 0; i < eventIds.length; i += CHUNK) {
    await forgetResponseExcerpts(tx, projectId, eventIds.slice(i, i + CHUNK));
  }
}
