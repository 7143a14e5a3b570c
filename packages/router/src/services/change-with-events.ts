import type { Database, Transaction } from '@herald/db';
import { recordEvent } from '@herald/delivery';
import type { EventData, EventType } from '@herald/events';
import type { ApiServices } from '../trpc/context';

type Emit = <T extends EventType>(
  type: T,
  data: EventData<T>,
  options?: { testEndpointId?: string },
) => Promise<{ eventId: string }>;

/**
 * Runs a state change and the events describing it in one transaction, then
 * wakes the dispatchers once, after the commit, if deliveries were created.
 */
export async function changeWithEvents<R>(
  ctx: { db: Database; services: ApiServices; projectId: string },
  change: (tx: Transaction, emit: Emit) => Promise<R>,
): Promise<R> {
  let deliveries = 0;
  const result = await ctx.db.transaction(async (tx) => {
    const emit: Emit = async (type, data, options) => {
      const recorded = await recordEvent(tx, { projectId: ctx.projectId, type, data, ...options });
      deliveries += recorded.deliveryCount;
      return { eventId: recorded.id };
    };
    return change(tx, emit);
  });
  if (deliveries > 0) ctx.services.wakeup.notify();
  return result;
}
