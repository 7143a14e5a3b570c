import type { Database } from '@herald/db';
import { deliveries } from '@herald/db';
import { and, eq, sql } from 'drizzle-orm';

/**
 * in_flight → pending: gives back the leases a worker holds but will not use
 * (graceful shutdown), so another dispatcher may take them at once rather
 * than when the lease runs out.
 */
export async function releaseLeases(db: Database, owner: string): Promise<number> {
  const released = await db
    .update(deliveries)
    .set({ status: 'pending', nextAttemptAt: sql`now()`, leaseOwner: null, updatedAt: new Date() })
    .where(and(eq(deliveries.leaseOwner, owner), eq(deliveries.status, 'in_flight')))
    .returning({ id: deliveries.id });
  return released.length;
}
