import type { Queryable } from '@herald/db';
import { deliveries, events } from '@herald/db';
import { eq } from 'drizzle-orm';
import { toPage } from '../../services/pagination';
import { toDelivery } from './delivery-schemas';

/** Deliveries with what their API shape needs from the event (type, payload expiry); add where, order, limit. */
export function selectDeliveries(db: Queryable) {
  return db
    .select({ delivery: deliveries, eventType: events.type, payloadExpiredAt: events.payloadExpiredAt })
    .from(deliveries)
    .innerJoin(events, eq(events.id, deliveries.eventId));
}

type DeliveryRow = Awaited<ReturnType<ReturnType<typeof selectDeliveries>['execute']>>[number];

/** A page of `selectDeliveries` rows (fetched `limit + 1`) in the API's shape. */
export function toDeliveryPage(rows: DeliveryRow[], limit: number) {
  return toPage(
    rows.map((r) => toDelivery(r.delivery, r.eventType, r.payloadExpiredAt)),
    limit,
  );
}
