import type { Database } from '@herald/db';
import { deliveryAttempts, executeRows, newId } from '@herald/db';
import { sql } from 'drizzle-orm';
import type { AttemptResult } from '../http/send-webhook';
import type { RetryPolicy } from '../retry-schedule';
import { nextRetryDelayMs } from '../retry-schedule';
import type { ClaimedDelivery } from './claim';
import { disableEndpoint, failingTooLong, recordEndpointHealth } from './endpoint-health';

const RETRY_AFTER_STATUSES = new Set([429, 502, 503, 504]);

export type AttemptOutcome = 'succeeded' | 'retrying' | 'failed' | 'lease_lost';

export interface RecordAttemptOptions {
  owner: string;
  retryPolicy: RetryPolicy;
  /** An endpoint failing without a single success for this long is disabled. */
  failureWindowMs: number;
  startedAt: Date;
}

export interface FinishedAttempt {
  delivery: ClaimedDelivery;
  result: AttemptResult;
  startedAt: Date;
}

/**
 * Stores finished attempts and decides what happens to each delivery next
 * (success, another try later, or failure for good), all in one
 * transaction: a batch of N costs one commit and a handful of statements,
 * not N of each. Only the worker that still holds a lease may move its
 * delivery on; the attempt is logged either way, since it really happened.
 */
export async function recordAttempts(
  db: Database,
  finished: readonly FinishedAttempt[],
  options: Omit<RecordAttemptOptions, 'startedAt'>,
): Promise<Array<{ outcome: AttemptOutcome; eventsEmitted: number }>> {
  if (finished.length === 0) return [];
  const plans = finished.map((f) => planNext(f, options.retryPolicy));
  return db.transaction(async (tx) => {
    await tx.insert(deliveryAttempts).values(
      finished.map(({ delivery, result, startedAt }) => ({
        id: newId('attempt'),
        deliveryId: delivery.id,
        attemptNumber: delivery.attemptCount + 1,
        startedAt,
        durationMs: Math.round(result.durationMs),
        statusCode: result.statusCode,
        errorClass: result.errorClass,
        errorMessage: result.errorMessage,
        responseBody: result.responseBody,
      })),
    );

    const rows = plans.map(
      (p, i) =>
        sql`(${finished[i]!.delivery.id}::text, ${p.status}::text, ${p.attemptCount}::int, ${p.delayMs}::int,
             ${finished[i]!.result.statusCode}::int, ${p.lastError}::text)`,
    );
    const moved = await executeRows<{ id: string }>(
      tx,
      sql`update deliveries d
          set status = v.status,
              attempt_count = v.attempt_count,
              next_attempt_at = case when v.delay_ms is null then null
                                     else now() + v.delay_ms * interval '1 millisecond' end,
              lease_owner = null,
              last_status_code = v.status_code,
              last_error = v.last_error,
              completed_at = case when v.status = 'pending' then null else now() end,
              updated_at = now()
          from (values ${sql.join(rows, sql`, `)}) as v(id, status, attempt_count, delay_ms, status_code, last_error)
          where d.id = v.id and d.lease_owner = ${options.owner} and d.status = 'in_flight'
          returning d.id`,
    );
    const movedIds = new Set(moved.map((r) => r.id));

    const succeededAt = new Set<string>();
    const failedAt = new Set<string>();
    finished.forEach((f, i) => {
      if (!movedIds.has(f.delivery.id)) return;
      (plans[i]!.status === 'succeeded' ? succeededAt : failedAt).add(f.delivery.endpoint.id);
    });
    await recordEndpointHealth(tx, succeededAt, failedAt);

    const outcomes: Array<{ outcome: AttemptOutcome; eventsEmitted: number }> = [];
    const windowChecked = new Set<string>();
    for (const [i, f] of finished.entries()) {
      const plan = plans[i]!;
      const endpointId = f.delivery.endpoint.id;
      if (!movedIds.has(f.delivery.id)) {
        outcomes.push({ outcome: 'lease_lost', eventsEmitted: 0 });
        continue;
      }
      let reason: 'gone' | 'failing' | null = null;
      if (plan.gone) reason = 'gone';
      else if (plan.status !== 'succeeded' && !succeededAt.has(endpointId) && !windowChecked.has(endpointId)) {
        windowChecked.add(endpointId);
        reason = await failingTooLong(tx, endpointId, options.failureWindowMs);
      }
      const eventsEmitted = reason ? await disableEndpoint(tx, f.delivery, reason) : 0;
      outcomes.push({ outcome: plan.outcome, eventsEmitted });
    }
    return outcomes;
  });
}

/** One attempt on its own; see `recordAttempts`. */
export async function recordAttempt(
  db: Database,
  delivery: ClaimedDelivery,
  result: AttemptResult,
  options: RecordAttemptOptions,
): Promise<{ outcome: AttemptOutcome; eventsEmitted: number }> {
  const { startedAt, ...rest } = options;
  const [outcome] = await recordAttempts(db, [{ delivery, result, startedAt }], rest);
  return outcome!;
}

interface NextStep {
  outcome: Exclude<AttemptOutcome, 'lease_lost'>;
  status: 'succeeded' | 'pending' | 'failed';
  attemptCount: number;
  delayMs: number | null;
  lastError: string | null;
  /** 410: the receiver says the endpoint is gone for good. */
  gone: boolean;
}

function planNext({ delivery, result }: FinishedAttempt, retryPolicy: RetryPolicy): NextStep {
  const attemptCount = delivery.attemptCount + 1;
  if (result.ok)
    return { outcome: 'succeeded', status: 'succeeded', attemptCount, delayMs: null, lastError: null, gone: false };
  const lastError = [result.errorClass, result.errorMessage].filter(Boolean).join(': ');
  if (result.statusCode === 410)
    return { outcome: 'failed', status: 'failed', attemptCount, delayMs: null, lastError, gone: true };
  // Throttling answers: 429, and the gateway/unavailable 5xx that carry Retry-After (RFC 9110 §10.2.3).
  const honoursRetryAfter = result.statusCode !== null && RETRY_AFTER_STATUSES.has(result.statusCode);
  const delayMs = nextRetryDelayMs(
    retryPolicy,
    attemptCount - delivery.scheduleOffset,
    honoursRetryAfter ? result.retryAfterSeconds : null,
  );
  return delayMs === null
    ? { outcome: 'failed', status: 'failed', attemptCount, delayMs: null, lastError, gone: false }
    : { outcome: 'retrying', status: 'pending', attemptCount, delayMs, lastError, gone: false };
}
