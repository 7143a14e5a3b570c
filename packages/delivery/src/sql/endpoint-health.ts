import type { Transaction } from '@herald/db';
import { endpoints } from '@herald/db';
import { and, eq, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { AttemptResult } from '../http/send-webhook';
import { recordEvent } from '../outbox/record-event';
import type { ClaimedDelivery } from './claim';

/**
 * Endpoint health, decided while attempt outcomes are committed: a success
 * ends an endpoint's run of failures, a failure may start one, and an
 * endpoint failing for longer than the window (or answering 410) is disabled.
 */
export async function recordEndpointHealth(
  tx: Transaction,
  succeededAt: Set<string>,
  failedAt: Set<string>,
): Promise<void> {
  if (succeededAt.size > 0) {
    await tx
      .update(endpoints)
      .set({ failingSince: null })
      .where(and(inArray(endpoints.id, [...succeededAt]), sql`${endpoints.failingSince} is not null`));
  }
  const stillFailing = [...failedAt].filter((id) => !succeededAt.has(id));
  if (stillFailing.length > 0) {
    await tx
      .update(endpoints)
      .set({ failingSince: sql`now()` })
      .where(and(inArray(endpoints.id, stillFailing), isNull(endpoints.failingSince)));
  }
}

/**
 * How fast each endpoint answers, for fair claiming: a moving average of its
 * answer time, and how many attempts in a row timed out. One statement for
 * the batch's endpoints.
 */
export async function recordEndpointSpeed(
  tx: Transaction,
  attempts: ReadonlyArray<{ endpointId: string; result: AttemptResult }>,
): Promise<void> {
  const byEndpoint = new Map<string, { totalMs: number; n: number; timeouts: number; answered: boolean }>();
  for (const { endpointId, result } of attempts) {
    const stats = byEndpoint.get(endpointId) ?? { totalMs: 0, n: 0, timeouts: 0, answered: false };
    stats.totalMs += result.durationMs;
    stats.n += 1;
    if (result.errorClass === 'timeout') stats.timeouts += 1;
    else stats.answered = true;
    byEndpoint.set(endpointId, stats);
  }
  if (byEndpoint.size === 0) return;
  const rows = [...byEndpoint].map(
    ([id, s]) =>
      sql`(${id}::text, ${s.totalMs / s.n}::real, ${s.answered ? 0 : s.timeouts}::int, ${s.answered}::boolean)`,
  );
  await tx.execute(sql`update endpoints e
      set latency_ms = case when e.latency_ms is null then v.ms else e.latency_ms * 0.7 + v.ms * 0.3 end,
          timeouts_in_row = case when v.answered then 0 else e.timeouts_in_row + v.timeouts end
      from (values ${sql.join(rows, sql`, `)}) as v(id, ms, timeouts, answered)
      where e.id = v.id`);
}

export async function failingTooLong(tx: Transaction, endpointId: string, windowMs: number): Promise<'failing' | null> {
  const [row] = await tx
    .select({ id: endpoints.id })
    .from(endpoints)
    .where(
      and(
        eq(endpoints.id, endpointId),
        lt(endpoints.failingSince, sql`now() - ${windowMs} * interval '1 millisecond'`),
      ),
    )
    .limit(1);
  return row ? 'failing' : null;
}

/** Disables the endpoint once and announces it with an `endpoint.disabled` event. */
export async function disableEndpoint(
  tx: Transaction,
  delivery: ClaimedDelivery,
  reason: 'gone' | 'failing',
): Promise<number> {
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
