import type { Transaction } from '@herald/db';
import { endpoints } from '@herald/db';
import { and, eq, lt, sql } from 'drizzle-orm';
import { recordEvent } from '../outbox/record-event';
import type { ClaimedDelivery } from './claim';

/**
 * Endpoint health: a success ends an endpoint's run of failures and a failure may start one
 * (written with each batch of outcomes, `sql/finish.ts`); an endpoint failing for longer than
 * the window (or answering 410) is disabled.
 */
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
    // Only the origin: the event goes to the project's other endpoints (third parties, some of them),
    // and a receiver's path or query often holds its credentials (Slack-style tokens, `?token=`).
    data: { endpointId: row.id, url: originOf(row.url), reason, disabledAt: disabledAt.toISOString() },
  });
  return recorded.deliveryCount;
}

/**
 * The URL's origin. This runs inside an outcome write shared with other tenants' outcomes, so it
 * never throws: a URL that does not parse (only a row written around the API could hold one) gives a
 * name that never resolves (`.invalid`, RFC 2606).
 */
function originOf(url: string): string {
  try {
    const { origin } = new URL(url);
    if (origin !== 'null') return origin;
  } catch {
    // below
  }
  return 'https://unknown.invalid';
}
