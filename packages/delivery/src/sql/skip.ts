import type { Database } from '@herald/db';
import { deliveries } from '@herald/db';
import { and, eq, sql } from 'drizzle-orm';
import type { ClaimedDelivery } from './claim';
import { leaseToken } from './claimed-row';

/**
 * A delivery that must not be sent, failed without an attempt: its endpoint was disabled after
 * it was queued (`endpoint_disabled`), or its event's payload expired (`payload_expired`).
 */
export async function failWithoutSending(
  db: Database,
  delivery: ClaimedDelivery,
  owner: string,
  reason: 'endpoint_disabled' | 'payload_expired' = 'endpoint_disabled',
): Promise<void> {
  const now = new Date();
  await db
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
    );
}
