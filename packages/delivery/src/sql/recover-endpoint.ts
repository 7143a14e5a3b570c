import type { Database } from '@herald/db';
import { executeRows, markProjectWriter } from '@herald/db';
import { sql } from 'drizzle-orm';
import { queueMissedDeliveries } from './queue-missed';
import { requeueFailedSince } from './requeue';

/**
 * Deliveries one recovery queues at most, requeued and missed together: a call holds its
 * connection for seconds, not for the minutes a week of a busy project's events takes.
 */
export const RECOVER_BATCH = 10_000;

export interface RecoveredDeliveries {
  requeued: number;
  missed: number;
  /** It stopped at its batch: the same call again queues the rest (what it queued is not queued twice). */
  more: boolean;
}

/**
 * failed → pending, and nothing → pending for the events the endpoint missed (`requeue.ts`,
 * `queue-missed.ts`), since a time, in one transaction, at most `limit` deliveries. One recovery
 * per project at a time: null, at once, while another runs (a lock tried, never waited for, so
 * recoveries queued behind each other never hold the API's connections). Marked as the project's
 * writer, so no other project's event feed waits for it.
 */
export async function recoverEndpointDeliveries(
  db: Database,
  input: { projectId: string; endpointId: string; since: Date; limit?: number },
): Promise<RecoveredDeliveries | null> {
  const limit = input.limit ?? RECOVER_BATCH;
  return db.transaction(async (tx) => {
    const [lock] = await executeRows<{ ok: boolean }>(
      tx,
      sql`select ${markProjectWriter(input.projectId)} is null as marked,
                 pg_try_advisory_xact_lock(hashtextextended(${`herald.recover:${input.projectId}`}, 0)) as ok`,
    );
    if (!lock?.ok) return null;
    const inTx = tx as unknown as Database;
    const requeued = await requeueFailedSince(inTx, { ...input, limit });
    if (requeued >= limit) return { requeued, missed: 0, more: true };
    const room = limit - requeued;
    const missed = await queueMissedDeliveries(inTx, { ...input, limit: room });
    return { requeued, missed, more: missed >= room };
  });
}
