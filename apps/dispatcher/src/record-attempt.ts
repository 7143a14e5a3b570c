import { deliveries, deliveryAttempts, endpoints, newId, recordEvent } from '@herald/db';
import type { Database, Transaction } from '@herald/db';
import { and, eq, isNull, lt, sql } from 'drizzle-orm';
import type { ClaimedDelivery } from './claim-due-deliveries';
import type { AttemptResult } from './http/send-webhook';
import { nextRetryDelayMs } from './retry-schedule';
import type { RetryPolicy } from './retry-schedule';

const RETRY_AFTER_STATUSES = new Set([429, 502, 503, 504]);

export type AttemptOutcome = 'succeeded' | 'retrying' | 'failed' | 'lease_lost';

export interface RecordAttemptOptions {
  owner: string;
  retryPolicy: RetryPolicy;
  /** An endpoint failing without a single success for this long is disabled. */
  failureWindowMs: number;
  startedAt: Date;
}

/**
 * Stores one attempt and decides what happens next, in one transaction:
 * success, another try later, or failure for good. Only the worker that
 * still holds the lease may move the delivery on; the attempt is logged
 * either way, since it really happened.
 */
export async function recordAttempt(
  db: Database,
  delivery: ClaimedDelivery,
  result: AttemptResult,
  options: RecordAttemptOptions,
): Promise<{ outcome: AttemptOutcome; eventsEmitted: number }> {
  return db.transaction(async (tx) => {
    const attemptNumber = delivery.attemptCount + 1;
    await tx.insert(deliveryAttempts).values({
      id: newId('attempt'),
      deliveryId: delivery.id,
      attemptNumber,
      startedAt: options.startedAt,
      durationMs: Math.round(result.durationMs),
      statusCode: result.statusCode,
      errorClass: result.errorClass,
      errorMessage: result.errorMessage,
      responseBody: result.responseBody,
    });

    let outcome: AttemptOutcome;
    let nextAttemptAt: ReturnType<typeof sql> | null = null;
    let disableReason: 'gone' | 'failing' | null = null;
    if (result.ok) {
      outcome = 'succeeded';
    } else if (result.statusCode === 410) {
      outcome = 'failed';
      disableReason = 'gone';
    } else {
      // Throttling answers: 429, and the gateway/unavailable 5xx that carry Retry-After (RFC 9110 §10.2.3).
      const honoursRetryAfter = result.statusCode !== null && RETRY_AFTER_STATUSES.has(result.statusCode);
      const delay = nextRetryDelayMs(
        options.retryPolicy,
        attemptNumber - delivery.scheduleOffset,
        honoursRetryAfter ? result.retryAfterSeconds : null,
      );
      outcome = delay === null ? 'failed' : 'retrying';
      if (delay !== null) nextAttemptAt = sql`now() + ${delay} * interval '1 millisecond'`;
    }

    const now = new Date();
    const moved = await tx
      .update(deliveries)
      .set({
        status: outcome === 'retrying' ? 'pending' : (outcome as 'succeeded' | 'failed'),
        attemptCount: attemptNumber,
        nextAttemptAt: nextAttemptAt ?? null,
        leaseOwner: null,
        lastStatusCode: result.statusCode,
        lastError: result.ok ? null : [result.errorClass, result.errorMessage].filter(Boolean).join(': '),
        completedAt: outcome === 'retrying' ? null : now,
        updatedAt: now,
      })
      .where(and(eq(deliveries.id, delivery.id), eq(deliveries.leaseOwner, options.owner), eq(deliveries.status, 'in_flight')))
      .returning({ id: deliveries.id });
    if (moved.length === 0) return { outcome: 'lease_lost' as const, eventsEmitted: 0 };

    let eventsEmitted = 0;
    if (result.ok) {
      await tx
        .update(endpoints)
        .set({ failingSince: null })
        .where(and(eq(endpoints.id, delivery.endpoint.id), sql`${endpoints.failingSince} is not null`));
    } else {
      await tx
        .update(endpoints)
        .set({ failingSince: now })
        .where(and(eq(endpoints.id, delivery.endpoint.id), isNull(endpoints.failingSince)));
      disableReason ??= await failingTooLong(tx, delivery.endpoint.id, options.failureWindowMs);
      if (disableReason) eventsEmitted = await disableEndpoint(tx, delivery, disableReason);
    }
    return { outcome, eventsEmitted };
  });
}

async function failingTooLong(tx: Transaction, endpointId: string, windowMs: number): Promise<'failing' | null> {
  const [row] = await tx
    .select({ id: endpoints.id })
    .from(endpoints)
    .where(and(eq(endpoints.id, endpointId), lt(endpoints.failingSince, sql`now() - ${windowMs} * interval '1 millisecond'`)))
    .limit(1);
  return row ? 'failing' : null;
}

/** Disables the endpoint once and announces it with an `endpoint.disabled` event. */
async function disableEndpoint(tx: Transaction, delivery: ClaimedDelivery, reason: 'gone' | 'failing'): Promise<number> {
  const disabledAt = new Date();
  const [row] = await tx
    .update(endpoints)
    .set({ disabled: true, disabledReason: reason, updatedAt: disabledAt })
    .where(and(eq(endpoints.id, delivery.endpoint.id), eq(endpoints.disabled, false)))
    .returning({ id: endpoints.id, url: endpoints.url });
  if (!row) return 0;
  const recorded = await recordEvent(tx, {
    projectId: delivery.projectId,
    type: 'endpoint.disabled',
    data: { endpointId: row.id, url: row.url, reason, disabledAt: disabledAt.toISOString() },
  });
  return recorded.deliveryCount;
}

/** A delivery whose endpoint was disabled after it was queued: failed, without an attempt. */
export async function failForDisabledEndpoint(db: Database, delivery: ClaimedDelivery, owner: string): Promise<void> {
  const now = new Date();
  await db
    .update(deliveries)
    .set({ status: 'failed', nextAttemptAt: null, leaseOwner: null, lastError: 'endpoint_disabled', completedAt: now, updatedAt: now })
    .where(and(eq(deliveries.id, delivery.id), eq(deliveries.leaseOwner, owner), eq(deliveries.status, 'in_flight')));
}

/** Gives back leases this worker holds but will not use (graceful shutdown). */
export async function releaseLeases(db: Database, owner: string): Promise<number> {
  const released = await db
    .update(deliveries)
    .set({ status: 'pending', nextAttemptAt: sql`now()`, leaseOwner: null, updatedAt: new Date() })
    .where(and(eq(deliveries.leaseOwner, owner), eq(deliveries.status, 'in_flight')))
    .returning({ id: deliveries.id });
  return released.length;
}
