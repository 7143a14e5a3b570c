import type { Database } from '@herald/db';
import { deliveries } from '@herald/db';
import { and, eq, sql } from 'drizzle-orm';
import type { ClaimedDelivery } from './claim';
import { leaseToken } from './claimed-row';
import { endedFifo, promoteNextOfSubjects } from './fifo-promote';

/**
 * A delivery that must not be sent, failed without an attempt: its endpoint was disabled after
 * it was queued (`endpoint_disabled`), or its event's payload expired (`payload_expired`). Like
 * an outcome, it lets its FIFO subject's next delivery go (fifo-promote.ts).
 */
export async function failWithoutSending(
  db: Database,
  delivery: ClaimedDelivery,
  owner: string,
  reason: 'endpoint_disabled' | 'payload_expired' = 'endpoint_disabled',
): Promise<void> {
  const now = new Date();
  const failed = await db
    .update(deliveries)
    .set({
      status: 'failed',
      nextAttemptAt: null,
      leaseOwner: null,
      lastError: reason,
      completedAt: now,
      updatedAt: now,
    })
    .where(
      and(
        eq(deliveries.id, delivery.id),
        eq(deliveries.leaseOwner, owner),
        eq(deliveries.status, 'in_flight'),
        sql`${leaseToken('next_attempt_at')} = ${delivery.lease}`,
      ),
    )
    .returning({ id: deliveries.id });
  if (failed.length > 0) await promoteNextOfSubjects(db, endedFifo([delivery]));
}
