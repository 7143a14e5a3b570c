import type { Transaction } from '@herald/db';
import { endpoints } from '@herald/db';
import { and, eq, inArray, isNull, lt, sql } from 'drizzle-orm';
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
