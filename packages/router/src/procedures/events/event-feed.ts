import type { Queryable } from '@herald/db';
import { events, idPattern, idTimestamp, PROJECT_MARK_SPACE } from '@herald/db';
import { listHistoryPartitions } from '@herald/delivery';
import type { EventType } from '@herald/events';
import { and, asc, eq, type SQL, sql } from 'drizzle-orm';
import { apiError } from '../../errors';
import { decodeCursor, encodeCursor } from '../../services/pagination';

/*
 * The event feed (GET /v1/events) in (txid, id) order: the writing
 * transaction's id, then the event id. An event id is made before its
 * transaction commits, and transactions commit out of order, so id order
 * alone let a poller pass an event that committed later with a smaller id.
 * The feed serves only events whose transaction is older than every
 * transaction still running; whatever commits later has a txid at least as
 * large as that horizon, so it sorts after everything already served. The
 * price: one long-running writing transaction anywhere on the server holds
 * the feed back until it ends, unless it is marked as another project's
 * (`markProjectWriter` in @herald/db: Idempotency-Key requests, user changes, recoveries, retries
 * and endpoint deletions are, and history maintenance is marked as writing no project's events).
 */

/** Where a poller stands in the feed: just after this event. */
export interface FeedPosition {
  txid: number;
  id: string;
}

/**
 * Every transaction below this id that may write `projectId`'s events has ended, committed or
 * not. Cheaply, the snapshot's xmin (the oldest transaction still running), unless the project has
 * events at or past it (held back by a transaction still running): then the oldest running
 * transaction left when those marked as another project's are left out (`markProjectWriter`),
 * else the snapshot's xmax. Unmarked transactions always count. A hash collision between two
 * projects only makes one wait for the other, as before marks.
 *
 * Marks are read from `pg_locks` in one scan (`pg_lock_status` holds every lock partition while
 * it copies them, so it runs only when events are held back): a transaction holds an exclusive
 * lock on its own id, and the same process holds the mark. The lock manager is read at one
 * instant; every race with the snapshot (a transaction ending, or starting, in between) leaves a
 * transaction in, which only holds the feed back longer.
 */
function horizonFor(projectId: string): SQL {
  return sql`(select case
      when pg_snapshot_xmin(s.snap) = pg_snapshot_xmax(s.snap)
        or not exists (select 1 from events held
                       where held.project_id = ${projectId} and held.txid >= pg_snapshot_xmin(s.snap)::text::bigint)
      then pg_snapshot_xmin(s.snap)::text::bigint
      else coalesce(
        (select min(x::text::bigint) from pg_snapshot_xip(s.snap) x
         where (x::text::bigint % 4294967296) not in (
           select marked.xid from (
             select unnest(array_agg(l.transactionid::text::bigint)
                      filter (where l.locktype = 'transactionid' and l.mode = 'ExclusiveLock')) as xid
             from pg_locks l
             where l.locktype in ('transactionid', 'advisory')
             group by l.pid
             having bool_or(l.locktype = 'advisory' and l.classid = ${PROJECT_MARK_SPACE}::oid and l.objsubid = 2
                            and l.objid <> hashtext(${projectId})::oid)
           ) marked
           where marked.xid is not null)),
        pg_snapshot_xmax(s.snap)::text::bigint)
      end
    from (select pg_current_snapshot() as snap) s)`;
}

const eventIdPattern = idPattern('event');

export function encodeFeedCursor(position: FeedPosition): string {
  return encodeCursor([String(position.txid), position.id]);
}

/**
 * The position in a cursor this feed returned. A bare event id (what cursors
 * were before the feed was ordered by transaction) is read as `after`.
 */
export function decodeFeedCursor(cursor: string): FeedPosition | { afterId: string } {
  if (eventIdPattern.test(cursor)) return { afterId: cursor };
  const keys = decodeCursor(cursor, 2);
  const txid = keys && /^\d{1,15}$/.test(keys[0]!) ? Number(keys[0]) : null;
  if (txid === null || !eventIdPattern.test(keys![1]!)) {
    throw apiError('validation_error', 'Request validation failed', [
      { path: 'cursor', message: 'not a cursor returned by this list', code: 'custom' },
    ]);
  }
  return { txid, id: keys![1]! };
}

/**
 * The feed position of one of the project's listed events; null (the feed's start) for an event
 * id older than every event kept, whose day retention dropped; 404 for any other id.
 *
 * A poller that has caught up holds only the id of the last event it saw (the last page has no
 * cursor); once retention dropped that event, every poll answered 404 and it never saw the next.
 * Everything kept is newer than a dropped day, so it resumes from the start of what is kept.
 */
export async function positionOfEvent(db: Queryable, projectId: string, id: string): Promise<FeedPosition | null> {
  const [row] = await db
    .select({ txid: events.txid, id: events.id })
    .from(events)
    .where(and(eq(events.projectId, projectId), eq(events.id, id), eq(events.isTest, false)))
    .limit(1);
  if (row) return row;
  const time = id.startsWith('evt_') ? idTimestamp(id) : null;
  if (time && (await beforeKeptHistory(db, time))) return null;
  throw apiError('not_found', `Event ${id} (from \`after\`) not found in this project`);
}

/**
 * Whether `time` lies before every day of events kept: its day was dropped by retention. Read
 * from the partitions' bounds (no tenant's rows); a partition with no lower bound (the legacy
 * one, before days) keeps everything before it.
 */
async function beforeKeptHistory(db: Queryable, time: Date): Promise<boolean> {
  const days = (await listHistoryPartitions(db)).filter((p) => p.table === 'events' && p.suffix !== 'default');
  if (days.length === 0 || days.some((p) => p.from === null)) return false;
  return days.every((p) => time.getTime() < p.from!.getTime());
}

/** Where a page starts: the cursor's position (it wins, as on every list), else `after`'s, else the beginning. */
export async function feedStart(
  db: Queryable,
  projectId: string,
  input: { cursor?: string | undefined; after?: string | undefined },
): Promise<FeedPosition | null> {
  if (input.cursor !== undefined) {
    const decoded = decodeFeedCursor(input.cursor);
    return 'afterId' in decoded ? positionOfEvent(db, projectId, decoded.afterId) : decoded;
  }
  return input.after === undefined ? null : positionOfEvent(db, projectId, input.after);
}

/** Up to `limit + 1` events after `from`, oldest transaction first, stopping at the horizon. */
export async function readFeed(
  db: Queryable,
  input: { projectId: string; from: FeedPosition | null; type: EventType | undefined; limit: number },
) {
  const after: SQL | undefined = input.from
    ? sql`(${events.txid}, ${events.id}) > (${input.from.txid}::bigint, ${input.from.id})`
    : undefined;
  return db
    .select()
    .from(events)
    .where(
      and(
        eq(events.projectId, input.projectId),
        eq(events.isTest, false),
        sql`${events.txid} < ${horizonFor(input.projectId)}`,
        after,
        input.type ? eq(events.type, input.type) : undefined,
      ),
    )
    .orderBy(asc(events.txid), asc(events.id))
    .limit(input.limit + 1);
}
