import type { Database } from '@herald/db';
import { againOnConflict, idTimestamp, newIdAt, toStorableText } from '@herald/db';
import type { AttemptResult } from '../http/send-webhook';
import type { RetryPolicy } from '../retry-schedule';
import { nextRetryDelayMs } from '../retry-schedule';
import type { ClaimedDelivery } from './claim';
import { disableEndpoint, failingTooLong } from './endpoint-health';
import { endedFifo, promoteNextOfSubjects } from './fifo-promote';
import { writeFinishStatement } from './finish-statement';

const RETRY_AFTER_STATUSES = new Set([429, 502, 503, 504]);

/** Timeouts in a row after which an endpoint gets one slot and doubled retry delays. */
export const SLOW_AFTER_TIMEOUTS = 3;

export type AttemptOutcome = 'succeeded' | 'retrying' | 'failed' | 'lease_lost';

export { LEASE_LOST } from './finish-statement';

export interface RecordAttemptOptions {
  owner: string;
  retryPolicy: RetryPolicy;
  /** An endpoint failing without a single success for this long is disabled. */
  failureWindowMs: number;
  /**
   * Never disable the endpoint (a 410 still fails its delivery): a `herald listen` endpoint, whose
   * receiver is a developer's local server (the session ends it, not its answers). Disabled, its
   * deliveries were failed unsent while the CLI went on saying it forwarded every event.
   */
  neverDisable?: boolean;
  startedAt: Date;
}

export interface FinishedAttempt {
  delivery: ClaimedDelivery;
  result: AttemptResult;
  startedAt: Date;
}

/** What one finished attempt will write, decided before the transaction. */
interface PlannedOutcome {
  finished: FinishedAttempt;
  plan: NextStep;
  /** Text from the receiver, made storable; null in the bare fallback. */
  errorMessage: string | null;
  responseBody: string | null;
}

type Outcome = { outcome: AttemptOutcome; eventsEmitted: number };

/**
 * Stores finished attempts and decides what happens to each delivery next
 * (success, another try later, or failure for good), in one statement: a
 * batch of N costs one commit, not N. Only the worker that still holds a
 * lease may move its delivery on; the attempt is logged either way, since it
 * really happened. Failures that may disable their endpoint are looked at
 * afterwards, in a transaction of their own (`disableFailingEndpoints`).
 *
 * One outcome can never stop another from being recorded: text from
 * receivers is made storable first, and if the batch still fails, each
 * attempt is written alone, and one that cannot be written even then is
 * finished without its details. Only an unreachable database leaves
 * deliveries in flight (their leases expire and they are sent again).
 */
export async function recordAttempts(
  db: Database,
  finished: readonly FinishedAttempt[],
  options: Omit<RecordAttemptOptions, 'startedAt'>,
): Promise<Outcome[]> {
  if (finished.length === 0) return [];
  const planned = finished.map((f) => plan(f, options.retryPolicy));
  try {
    return await writeOutcomes(db, planned, options);
  } catch (error) {
    if (!isDataError(error) || planned.length === 1) {
      if (planned.length === 1 && isDataError(error)) return [await writeBare(db, planned[0]!, options)];
      throw error;
    }
    const outcomes: Outcome[] = [];
    for (const one of planned) {
      try {
        outcomes.push(...(await writeOutcomes(db, [one], options)));
      } catch (oneError) {
        if (!isDataError(oneError)) throw oneError;
        outcomes.push(await writeBare(db, one, options));
      }
    }
    return outcomes;
  }
}

/** The last resort for an outcome whose details cannot be stored: numbers only, no endpoint bookkeeping. */
async function writeBare(db: Database, one: PlannedOutcome, options: Omit<RecordAttemptOptions, 'startedAt'>) {
  const bare: PlannedOutcome = {
    ...one,
    errorMessage: null,
    responseBody: null,
    plan: { ...one.plan, lastError: one.plan.lastError === null ? null : 'attempt details could not be stored' },
  };
  try {
    const [outcome] = await writeOutcomes(db, [bare], options, { bookkeeping: false });
    return outcome!;
  } catch (error) {
    if (!isDataError(error)) throw error;
    // Nothing about this delivery can be written (it was deleted meanwhile): it is no longer ours.
    return { outcome: 'lease_lost' as const, eventsEmitted: 0 };
  }
}

/**
 * SQLSTATE classes 22 (data exception) and 23 (integrity constraint): the
 * row's fault, not the connection's, so writing it again alone can help.
 */
function isDataError(error: unknown): boolean {
  for (let e: unknown = error; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code)) return true;
  }
  return false;
}

/** At the delivery's time: a delivery's attempts live in its day partition and leave with it. */
function attemptId(deliveryId: string): string {
  return newIdAt('attempt', idTimestamp(deliveryId)?.getTime() ?? Date.now());
}

function plan(finished: FinishedAttempt, retryPolicy: RetryPolicy): PlannedOutcome {
  return {
    finished,
    plan: planNext(finished, retryPolicy),
    errorMessage: toStorableText(finished.result.errorMessage),
    responseBody: toStorableText(finished.result.responseBody),
  };
}

async function writeOutcomes(
  db: Database,
  planned: readonly PlannedOutcome[],
  options: Omit<RecordAttemptOptions, 'startedAt'>,
  { bookkeeping = true } = {},
): Promise<Outcome[]> {
  const sorted = planned.map((p) => p.finished.delivery.id).sort();
  const attempts = planned.map(({ finished: { delivery, result, startedAt }, errorMessage, responseBody }) => ({
    id: attemptId(delivery.id),
    delivery_id: delivery.id,
    endpoint_id: delivery.endpoint.id,
    attempt_number: delivery.attemptCount + 1,
    started_at: startedAt.toISOString(),
    duration_ms: Math.round(result.durationMs),
    status_code: result.statusCode,
    error_class: result.errorClass,
    error_message: errorMessage,
    response_body: responseBody,
  }));
  const rows = planned.map(({ finished: f, plan: p }) => ({
    id: f.delivery.id,
    lease: f.delivery.lease,
    status: p.status,
    attempt_count: p.attemptCount,
    delay_ms: p.delayMs,
    status_code: f.result.statusCode,
    last_error: toStorableText(p.lastError),
  }));
  // A lost race (a deadlock with an endpoint's deletion, which locks the same rows the other way
  // round) rolls the statement back whole: written again, rather than failing every project's
  // outcomes in the batch, whose deliveries would be sent twice once their leases ran out.
  const moved = await againOnConflict(() =>
    writeFinishStatement(db, { sortedIds: sorted, attempts, rows, owner: options.owner, bookkeeping }),
  );
  const movedIds = new Set(moved.map((r) => r.id));
  const outcomes: Outcome[] = planned.map((p) => ({
    outcome: movedIds.has(p.finished.delivery.id) ? p.plan.outcome : 'lease_lost',
    eventsEmitted: 0,
  }));
  // Ended FIFO deliveries let their subjects' next ones go (fifo-promote.ts). The outcomes are
  // committed: a failure here costs a parked row one lease, and must not make the caller write
  // them again.
  const ended = endedFifo(
    planned
      .filter((p) => p.plan.status !== 'pending' && movedIds.has(p.finished.delivery.id))
      .map((p) => p.finished.delivery),
  );
  await promoteNextOfSubjects(db, ended).catch(() => {});
  if (!bookkeeping) return outcomes;
  // Failures may disable their endpoint: 410, or failing for longer than the window (read after
  // the statement above started or continued the endpoint's run of failures).
  const succeededAt = new Set<string>();
  for (const p of planned) {
    if (movedIds.has(p.finished.delivery.id) && p.plan.status === 'succeeded') {
      succeededAt.add(p.finished.delivery.endpoint.id);
    }
  }
  const failures = planned
    .map((p, i) => ({ p, i }))
    .filter(({ p }) => movedIds.has(p.finished.delivery.id) && (p.plan.gone || p.plan.status !== 'succeeded'));
  if (failures.length === 0 || options.neverDisable) return outcomes;
  // The outcomes above are committed whatever happens here: an error must not make the caller
  // write them again. Tried twice; then the endpoint is disabled at its next failure (a 410's
  // delivery is already failed, so a 410 disable lost to two errors in a row stays undone).
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      const emitted = await disableFailingEndpoints(db, failures, succeededAt, options.failureWindowMs);
      for (const [i, n] of emitted) outcomes[i]!.eventsEmitted = n;
      break;
    } catch {
      // Nothing of this step was committed; try again, or leave it to the endpoint's next failure.
    }
  }
  return outcomes;
}

/**
 * In its own transaction, after the batch's outcomes: an endpoint answering 410, or failing
 * without a success for longer than the window (its run of failures was started or continued by
 * the batch's statement, so a window of 0 disables at the first failure), is disabled and
 * announced. Returns events emitted by batch index.
 */
async function disableFailingEndpoints(
  db: Database,
  failures: ReadonlyArray<{ p: PlannedOutcome; i: number }>,
  succeededAt: ReadonlySet<string>,
  failureWindowMs: number,
): Promise<Map<number, number>> {
  return db.transaction(async (tx) => {
    const emitted = new Map<number, number>();
    const windowChecked = new Set<string>();
    for (const { p, i } of failures) {
      const endpointId = p.finished.delivery.endpoint.id;
      let reason: 'gone' | 'failing' | null = null;
      if (p.plan.gone) reason = 'gone';
      else if (!succeededAt.has(endpointId) && !windowChecked.has(endpointId)) {
        windowChecked.add(endpointId);
        reason = await failingTooLong(tx, endpointId, failureWindowMs);
      }
      if (reason) emitted.set(i, await disableEndpoint(tx, p.finished.delivery, reason));
    }
    return emitted;
  });
}

/** One attempt on its own; see `recordAttempts`. */
export async function recordAttempt(
  db: Database,
  delivery: ClaimedDelivery,
  result: AttemptResult,
  options: RecordAttemptOptions,
): Promise<Outcome> {
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
  // A 410 whose answer broke off (reset, timed out) is not taken at its word: the attempt failed
  // as a connection would, as a 2xx or a Retry-After that broke off is.
  if (result.statusCode === 410 && result.errorClass === 'http_status')
    return { outcome: 'failed', status: 'failed', attemptCount, delayMs: null, lastError, gone: true };
  // Throttling answers: 429, and the gateway/unavailable 5xx that carry Retry-After (RFC 9110 §10.2.3).
  const honoursRetryAfter = result.statusCode !== null && RETRY_AFTER_STATUSES.has(result.statusCode);
  let delayMs = nextRetryDelayMs(
    retryPolicy,
    attemptCount - delivery.scheduleOffset,
    honoursRetryAfter ? result.retryAfterSeconds : null,
  );
  // An endpoint that keeps timing out holds slots for the whole timeout at every try: wait longer for it.
  if (delayMs !== null && result.errorClass === 'timeout' && delivery.endpoint.timeoutsInRow >= SLOW_AFTER_TIMEOUTS) {
    delayMs *= 2;
  }
  return delayMs === null
    ? { outcome: 'failed', status: 'failed', attemptCount, delayMs: null, lastError, gone: false }
    : { outcome: 'retrying', status: 'pending', attemptCount, delayMs, lastError, gone: false };
}
