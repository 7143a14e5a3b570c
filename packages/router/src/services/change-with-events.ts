import type { Database, Queryable, TemplateValue, Transaction } from '@herald/db';
import { executeHotTemplate, markProjectWriter } from '@herald/db';
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
    // Before its first write: this transaction writes this project's events only, so no other
    // project's event feed waits for it (a user's erasure rewrites its whole history here).
    await tx.execute(sql`select ${markProjectWriter(ctx.projectId)}`);
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

/** A data-modifying statement as a template: its text by `key` (built once), its values by name. */
export interface ChangeTemplate {
  /** Names the statement's text: one key, one text (the event's shape aside). */
  key: string;
  /** The INSERT, UPDATE or DELETE, each value as `value(name)` gives it. */
  build(value: TemplateValue): SQL;
  values: Record<string, unknown>;
}

/**
 * A change made by one data-modifying statement (`change`: an INSERT, UPDATE or DELETE) and
 * the event describing it (`eventStatement`), written as one statement: one round trip and
 * one implicit transaction instead of a transaction of one per step. Wakes the dispatchers
 * after it when deliveries were made. For changes that need nothing read first. The statement's
 * text is built once per change and event shape (`executeHotTemplate`), and prepared.
 */
export async function changeWithEventInOneStatement(
  ctx: { db: Database; services: ApiServices },
  change: ChangeTemplate,
  event: EventStatement,
): Promise<void> {
  const write = (db: Queryable) =>
    executeHotTemplate<{ deliveries: number }>(
      db,
      `${change.key}\n${event.shape}`,
      (value) =>
        sql`with herald_change as (${change.build(value)}), ${event.ctes(value)} select ${event.deliveryCount()} as deliveries`,
      { ...change.values, ...event.values },
    );
  // In a request's transaction (an Idempotency-Key on PostgreSQL), behind a savepoint as
  // `changeWithEvents` is: a refused change (email taken) leaves the transaction usable for
  // storing its answer.
  const [row] = ctx.db instanceof PgTransaction ? await ctx.db.transaction((tx) => write(tx)) : await write(ctx.db);
  if (Number(row?.deliveries ?? 0) > 0) ctx.services.wakeup.notify();
}
