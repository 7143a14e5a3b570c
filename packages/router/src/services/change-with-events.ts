import type { Database, Queryable, Transaction } from '@herald/db';
import { executeHotRows } from '@herald/db';
import type { EventStatement } from '@herald/delivery';
import { recordEvent } from '@herald/delivery';
import type { EventData, EventType } from '@herald/events';
import type { SQL } from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import { PgTransaction } from 'drizzle-orm/pg-core';
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

/**
 * A change made by one data-modifying statement (`change`: an INSERT, UPDATE or DELETE) and
 * the event describing it (`eventStatement`), written as one statement: one round trip and
 * one implicit transaction instead of a transaction of one per step. Wakes the dispatchers
 * after it when deliveries were made. For changes that need nothing read first.
 */
export async function changeWithEventInOneStatement(
  ctx: { db: Database; services: ApiServices },
  change: SQL,
  event: EventStatement,
): Promise<void> {
  const write = (db: Queryable) =>
    // Prepared: its text is the same for every change of one shape (the values are parameters).
    executeHotRows<{ deliveries: number }>(
      db,
      sql`with herald_change as (${change}), ${event.ctes} select ${event.deliveryCount} as deliveries`,
    );
  // In a request's transaction (an Idempotency-Key on PostgreSQL), behind a savepoint as
  // `changeWithEvents` is: a refused change (email taken) leaves the transaction usable for
  // storing its answer.
  const [row] = ctx.db instanceof PgTransaction ? await ctx.db.transaction((tx) => write(tx)) : await write(ctx.db);
  if (Number(row?.deliveries ?? 0) > 0) ctx.services.wakeup.notify();
}
