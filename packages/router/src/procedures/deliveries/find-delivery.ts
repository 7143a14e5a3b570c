import type { Queryable } from '@herald/db';
import { deliveries, events } from '@herald/db';
import { and, eq } from 'drizzle-orm';
import { notFound } from '../../errors';

export async function findDelivery(db: Queryable, projectId: string, id: string) {
  const [row] = await db
    .select({ delivery: deliveries, eventType: events.type, payloadExpiredAt: events.payloadExpiredAt })
    .from(deliveries)
    .innerJoin(events, eq(events.id, deliveries.eventId))
    .where(and(eq(deliveries.projectId, projectId), eq(deliveries.id, id)))
    .limit(1);
  if (!row) throw notFound('Delivery');
  return row;
}
