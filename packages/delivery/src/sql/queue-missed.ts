import type { Database } from '@herald/db';
import { deliveries, executeRows, idTimestamp, markProjectWriter, newIdAt } from '@herald/db';
import { sql } from 'drizzle-orm';
import { dueAt } from '../outbox/event-statement';
import { lockQueuedOfFifoSubjects } from './fifo-subject-lock';
import { lowerQueueWindow } from './queue-window';

/** Rows per INSERT: well under PostgreSQL's 65,535 bind parameters. */
const CHUNK = 1_000;

/**
 * nothing → pending: the events an endpoint missed since a time (it was
 * disabled, or its filter left them out then and takes them now), one
 * delivery each, due now. Bounded by what is still stored (the retention
 * window) and by the endpoint's creation: an endpoint never receives events
 * older than itself. Events that already have a delivery to the endpoint
 * are left alone. `deliveries` is partitioned by id, so no unique index can
 * hold (event, endpoint): a per-endpoint advisory lock, taken before the
 * NOT EXISTS, makes concurrent recoveries add each missed event once.
 * Each delivery's id carries its event's time, so it lives (and is retired)
 * in the event's day partition. The oldest `limit` missed events (all without one), each held
 * shared until the deliveries are in: payload expiry skips it meanwhile, and one expiry held is
 * seen expired once it ends. Returns how many were queued.
 */
export async function queueMissedDeliveries(
  db: Database,
  input: { projectId: string; endpointId: string; since: Date; limit?: number },
): Promise<number> {
  return db.transaction(async (tx) => {
    // It writes no other project's events: no other project's event feed waits for it (feed-marks.ts).
    await tx.execute(
      sql`select ${markProjectWriter(input.projectId)},
                 pg_advisory_xact_lock(hashtextextended(${`herald.queue-missed:${input.endpointId}`}, 0))`,
    );
    const missed = await executeRows<{
      id: string;
      subject: string | null;
      sequence: string | number | null;
      fifo: boolean;
    }>(
      tx,
      sql`select e.id, e.subject, e.sequence, ep.ordering = 'fifo' as fifo
          from endpoints ep
          join events e on e.project_id = ep.project_id
          where ep.id = ${input.endpointId} and ep.project_id = ${input.projectId}
            and not e.is_test and e.payload_expired_at is null
            and e.created_at >= greatest(${input.since.toISOString()}::timestamptz, ep.created_at)
            and (ep.event_types is null or e.type = any(ep.event_types))
            and not exists (select 1 from deliveries d where d.event_id = e.id and d.endpoint_id = ep.id)
          order by e.created_at, e.id
          ${input.limit === undefined ? sql`` : sql`limit ${input.limit}`}
          for share of e`,
    );
    // FIFO: a claim taking a later delivery of one of these subjects finishes first (see fifo-subject-lock.ts).
    const subjects = [...new Set(missed.flatMap((event) => (event.subject === null ? [] : [event.subject])))];
    if (subjects.length > 0) {
      await lockQueuedOfFifoSubjects(
        tx as unknown as Database,
        sql`select ${input.endpointId}::text, s from jsonb_array_elements_text(${JSON.stringify(subjects)}::jsonb) s`,
      );
    }
    const now = new Date();
    const ids = missed.map((event) => newIdAt('delivery', idTimestamp(event.id)?.getTime() ?? now.getTime()));
    for (let i = 0; i < missed.length; i += CHUNK) {
      await tx.insert(deliveries).values(
        missed.slice(i, i + CHUNK).map((event, j) => ({
          id: ids[i + j]!,
          projectId: input.projectId,
          endpointId: input.endpointId,
          eventId: event.id,
          status: 'pending' as const,
          nextAttemptAt: dueAt(sql`${now.toISOString()}::timestamptz`),
          subject: event.subject,
          sequence: event.sequence === null ? null : Number(event.sequence),
          // Ahead of its subject's later deliveries, parked ones among them: it promotes the next (fifo-promote.ts).
          wakesNext: event.fifo && event.subject !== null,
          createdAt: now,
          updatedAt: now,
        })),
      );
    }
    // Their days are older than the claims' window: lower it, or they would wait for its next refresh.
    await lowerQueueWindow(tx, ids);
    return missed.length;
  });
}
