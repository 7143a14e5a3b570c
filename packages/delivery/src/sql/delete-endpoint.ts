import type { Queryable } from '@herald/db';
import {
  againOnConflict,
  deliveries,
  deliveryAttempts,
  endpoints,
  executeRows,
  isQueued,
  markProjectWriter,
} from '@herald/db';
import type { SQL } from 'drizzle-orm';
import { and, eq, inArray, sql } from 'drizzle-orm';

/** Finished deliveries deleted per statement (with their attempts). */
const HISTORY_BATCH = 5_000;

/**
 * An endpoint and everything sent to it: its deliveries (queued and past) and their attempts.
 * Only `projectId`'s endpoint, and only while `onlyIf` (a condition on `endpoints`) holds when its
 * row goes; false when there is none. The API's `DELETE /v1/endpoints/{id}` and maintenance's
 * cleanup of abandoned `herald listen` endpoints both go through here. Each transaction is marked
 * as the project's writer: it writes no events, so no other project's event feed waits for it.
 */
export async function deleteEndpointWithHistory(
  db: Queryable,
  projectId: string,
  endpointId: string,
  onlyIf?: SQL,
): Promise<boolean> {
  await deleteUnheldDeliveries(db, projectId, endpointId);
  const row = await againOnConflict(() =>
    db.transaction(async (tx) => {
      await tx.execute(sql`select ${markProjectWriter(projectId)}`);
      // Its queued deliveries are locked first, in the order a dispatcher's outcome write locks
      // them (deliveries, then their endpoint's row for its health): deleting the endpoint row
      // first deadlocked with that write. Locked, they are not claimed meanwhile (claims skip
      // locked rows), so no delivery becomes in flight between this and the cascade.
      await tx.execute(
        sql`select 1 from ${deliveries} where ${deliveries.endpointId} = ${endpointId}
            and ${deliveries.projectId} = ${projectId} and ${isQueued(deliveries.status)} for update`,
      );
      // The endpoint's deliveries go by their foreign key's cascade. Their attempts have none (the
      // history tables do not point at each other, so retention can drop whole days), so they go
      // first, while their deliveries can still be found: only this project's.
      await tx.delete(deliveryAttempts).where(
        inArray(
          deliveryAttempts.deliveryId,
          tx
            .select({ id: deliveries.id })
            .from(deliveries)
            .where(and(eq(deliveries.projectId, projectId), eq(deliveries.endpointId, endpointId))),
        ),
      );
      const [deleted] = await tx
        .delete(endpoints)
        .where(and(eq(endpoints.projectId, projectId), eq(endpoints.id, endpointId), onlyIf))
        .returning({ id: endpoints.id });
      return deleted;
    }),
  );
  return row !== undefined;
}

/**
 * The endpoint's deliveries that are not in flight, finished or waiting (with their attempts), in
 * batches, before the transaction that locks the rest. That transaction used to delete the whole
 * history and queue while holding every queued one: a dispatcher writing the outcome of one of
 * them waited for it, and with it the outcomes of every other tenant in the same write (seconds at
 * a history of 1.5 M deliveries). A waiting row a claim holds is skipped (the claim takes it, the
 * transaction deletes it); what is left for the transaction is what is in flight and what came or
 * finished meanwhile. Only this project's rows are touched.
 */
async function deleteUnheldDeliveries(db: Queryable, projectId: string, endpointId: string): Promise<void> {
  for (;;) {
    const gone = await db.transaction(async (tx) => {
      await tx.execute(sql`select ${markProjectWriter(projectId)}`);
      return executeRows<{ id: string }>(
        tx,
        sql`with doomed as (
              select d.id from deliveries d
              where d.endpoint_id = ${endpointId} and d.project_id = ${projectId}
                and d.status in ('succeeded', 'failed', 'pending')
              limit ${HISTORY_BATCH}
              for update skip locked
            ),
            attempts as (delete from delivery_attempts a where a.delivery_id in (select id from doomed))
            delete from deliveries d where d.id in (select id from doomed)
              and d.status in ('succeeded', 'failed', 'pending')
            returning d.id`,
      );
    });
    if (gone.length < HISTORY_BATCH) return;
  }
}
