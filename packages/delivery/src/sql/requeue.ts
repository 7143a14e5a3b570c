import type { Database } from '@herald/db';
import { deliveries } from '@herald/db';
import type { SQL } from 'drizzle-orm';
import { and, eq, gte, ne, sql } from 'drizzle-orm';
import { lockQueuedOfFifoSubjects } from './fifo-subject-lock';
import { lowerQueueWindow } from './queue-window';

/**
 * failed | succeeded | pending → pending, due now, with a fresh retry
 * schedule (attempts are not renumbered: `schedule_offset` remembers how many
 * came before). The one place that puts finished deliveries back in the
 * queue; an in-flight delivery is never touched, its worker owns it, and neither is one whose
 * event's payload expired (payload retention): it can never be sent again.
 */
async function requeue(db: Database, condition: SQL): Promise<Array<typeof deliveries.$inferSelect>> {
  const where = and(
    condition,
    sql`not exists (select 1 from events e where e.id = ${deliveries.eventId} and e.payload_expired_at is not null)`,
  )!;
  return db.transaction(async (tx) => {
    // FIFO: a claim taking a later delivery of a subject finishes first (see fifo-subject-lock.ts).
    // The subject's parked deliveries stay parked: the requeued one, now due, promotes the next
    // when it ends (fifo-promote.ts: marked \`wakes_next\`, as it may now be ahead of parked ones),
    // and so on, one at a time as they would be sent anyway.
    const subjects = sql`select ${deliveries.endpointId}, ${deliveries.subject} from ${deliveries} where ${where}`;
    await lockQueuedOfFifoSubjects(tx as unknown as Database, subjects);
    const rows = await tx
      .update(deliveries)
      .set({
        status: 'pending',
        nextAttemptAt: sql`now()`,
        scheduleOffset: sql`${deliveries.attemptCount}`,
        wakesNext: sql`${deliveries.subject} is not null and exists (select 1 from endpoints e where e.id = ${deliveries.endpointId} and e.ordering = 'fifo')`,
        completedAt: null,
        updatedAt: new Date(),
      })
      .where(where)
      .returning();
    // Older days are outside the claims' window until it is lowered.
    await lowerQueueWindow(
      tx,
      rows.map((r) => r.id),
    );
    return rows;
  });
}

/** One delivery, sent again now (manual retry). Null when it is in flight right now, or not the project's. */
export async function requeueDelivery(
  db: Database,
  input: { projectId: string; deliveryId: string },
): Promise<typeof deliveries.$inferSelect | null> {
  const [row] = await requeue(
    db,
    and(
      eq(deliveries.projectId, input.projectId),
      eq(deliveries.id, input.deliveryId),
      ne(deliveries.status, 'in_flight'),
    )!,
  );
  return row ?? null;
}

/** Every failed delivery of an endpoint created since a time (recovery after an outage). */
export async function requeueFailedSince(
  db: Database,
  input: { projectId: string; endpointId: string; since: Date },
): Promise<number> {
  const rows = await requeue(
    db,
    and(
      eq(deliveries.projectId, input.projectId),
      eq(deliveries.endpointId, input.endpointId),
      eq(deliveries.status, 'failed'),
      gte(deliveries.createdAt, input.since),
    )!,
  );
  return rows.length;
}
