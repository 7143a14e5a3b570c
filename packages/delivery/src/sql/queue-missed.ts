import type { Database } from '@herald/db';
import { deliveries, executeRows, newId } from '@herald/db';
import { sql } from 'drizzle-orm';

/** Rows per INSERT: well under PostgreSQL's 65,535 bind parameters. */
const CHUNK = 1_000;

/**
 * nothing → pending: the events an endpoint missed since a time (it was
 * disabled, or its filter left them out then and takes them now), one
 * delivery each, due now. Bounded by what is still stored (the retention
 * window) and by the endpoint's creation: an endpoint never receives events
 * older than itself. Events that already have a delivery to the endpoint
 * are left alone; the unique (event, endpoint) index makes concurrent
 * recoveries add each missed event once. Returns how many were queued.
 */
export async function queueMissedDeliveries(
  db: Database,
  input: { projectId: string; endpointId: string; since: Date },
): Promise<number> {
  const missed = await executeRows<{ id: string; subject: string | null; sequence: string | number | null }>(
    db,
    sql`select e.id, e.subject, e.sequence
        from endpoints ep
        join events e on e.project_id = ep.project_id
        where ep.id = ${input.endpointId} and ep.project_id = ${input.projectId}
          and not e.is_test
          and e.created_at >= greatest(${input.since.toISOString()}::timestamptz, ep.created_at)
          and (ep.event_types is null or e.type = any(ep.event_types))
          and not exists (select 1 from deliveries d where d.event_id = e.id and d.endpoint_id = ep.id)
        order by e.created_at, e.id`,
  );
  let queued = 0;
  const now = new Date();
  for (let i = 0; i < missed.length; i += CHUNK) {
    const rows = await db
      .insert(deliveries)
      .values(
        missed.slice(i, i + CHUNK).map((event) => ({
          id: newId('delivery'),
          projectId: input.projectId,
          endpointId: input.endpointId,
          eventId: event.id,
          status: 'pending' as const,
          nextAttemptAt: now,
          subject: event.subject,
          sequence: event.sequence === null ? null : Number(event.sequence),
          createdAt: now,
          updatedAt: now,
        })),
      )
      .onConflictDoNothing({ target: [deliveries.eventId, deliveries.endpointId] })
      .returning({ id: deliveries.id });
    queued += rows.length;
  }
  return queued;
}
