import type { Queryable } from '@herald/db';
import { sql } from 'drizzle-orm';

/**
 * Erasure (in the API's transaction that deletes a user): the receivers' answers logged for these
 * events' deliveries go. A receiver that echoes the webhook (a validation error quoting the body,
 * say) put the user's data in its attempt's excerpt, which the API and the portal serve; cleared as
 * payload retention clears them. A delivery in flight now (being sent, or claimed with the data as
 * it was) has its attempt written after this: marked `excerpts_erased`, its attempts keep no answer
 * (finish.ts).
 */
export async function forgetResponseExcerpts(tx: Queryable, projectId: string, eventIds: string[]): Promise<void> {
  if (eventIds.length === 0) return;
  const ids = sql`any(string_to_array(${eventIds.join(',')}, ','))`;
  await tx.execute(sql`update delivery_attempts a set response_body = null
    from deliveries d
    where d.event_id = ${ids} and d.project_id = ${projectId}
      and a.delivery_id = d.id and a.response_body is not null`);
  await tx.execute(sql`update deliveries d set excerpts_erased = true
    where d.event_id = ${ids} and d.project_id = ${projectId} and d.status = 'in_flight' and not d.excerpts_erased`);
}
