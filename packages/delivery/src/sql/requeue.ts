import type { Database } from '@herald/db';
import { deliveries, markProjectWriter } from '@herald/db';
import type { SQL } from 'drizzle-orm';
import { and, eq, gte, ne, sql } from 'drizzle-orm';
import { lockQueuedOfFifoSubjects } from './fifo-subject-lock';
import { lowerQueueWindow } from './queue-window';

/** The delivery's event still holds its payload: one whose payload expired can never be sent again. */
const payloadKept = sql`not exists (select 1 from events e where e.id = ${deliveries.eventId} and e.payload_expired_at is not null)`;

/**
 * failed | succeeded | pending → pending, due now, with a fresh retry
 * schedule (attempts are not renumbered: `schedule_offset` remembers how many
 * came before). The one place that puts finished deliveries back in the
 * queue; an in-flight delivery is never touched, its worker owns it, and neither is one whose
 * event's payload expired (payload retention): it can never be sent again.
 */
async function requeue(
  db: Database,
  projectId: string,
  condition: SQL,
): Promise<Array<typeof deliveries.$inferSelect>> {
  const where = and(condition, payloadKept)!;
  return db.transaction(async (tx) => {
    // It writes no other project's events: no other project's event feed waits for it (feed-marks.ts).
    await tx.execute(sql`select ${markProjectWriter(projectId)}`);
    // Their events first, shared, in id order (as erasure and payload expiry take events, before
    // deliveries). Payload expiry skips an event held here, and one it holds is waited for and then
    // seen expired: its delivery is not put back, where before both could commit and the delivery
    // was queued again only to fail `payload_expired`.
    await tx.execute(
      sql`select 1 from events e
          where e.id in (select ${deliveries.eventId} from ${deliveries} where ${where})
          order by e.id for share of e`,
    );
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
    input.projectId,
    and(
      eq(deliveries.projectId, input.projectId),
      eq(deliveries.id, input.deliveryId),
      ne(deliveries.status, 'in_flight'),
    )!,
  );
  return row ?? null;
}

/**
 * The failed deliveries of an endpoint created since a time (recovery after an outage), oldest
 * first, at most `limit` of them (all without one).
 */
export async function requeueFailedSince(
  db: Database,
  input: { projectId: string; endpointId: string; since: Date; limit?: number },
): Promise<number> {
  const failedSince = and(
    eq(deliveries.projectId, input.projectId),
    eq(deliveries.endpointId, input.endpointId),
    eq(deliveries.status, 'failed'),
    gte(deliveries.createdAt, input.since),
  )!;
  const condition =
    input.limit === undefined
      ? failedSince
      : // The first `limit` that can be sent again: one whose payload expired never is, so counting it
        // would make every later call stop at the same rows.
        sql`${deliveries.id} in (
          select ${deliveries.id} from ${deliveries} where ${failedSince} and ${payloadKept}
          order by ${deliveries.id} limit ${input.limit})`;
  const rows = await requeue(db, input.projectId, condition);
  return rows.length;
}
