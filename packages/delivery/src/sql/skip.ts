import type { Database } from '@herald/db';
import { deliveries } from '@herald/db';
import { and, eq } from 'drizzle-orm';
import type { ClaimedDelivery } from './claim';

/** A delivery whose endpoint was disabled after it was queued: failed, without an attempt. */
export async function failForDisabledEndpoint(db: Database, delivery: ClaimedDelivery, owner: string): Promise<void> {
  const now = new Date();
  await db
    .update(deliveries)
    .set({
      status: 'failed',
      nextAttemptAt: null,
      leaseOwner: null,
      lastError: 'endpoint_disabled',
      completedAt: now,
      updatedAt: now,
    })
    .where(and(eq(deliveries.id, delivery.id), eq(deliveries.leaseOwner, owner), eq(deliveries.status, 'in_flight')));
}
