import type { SQL } from 'drizzle-orm';
import { sql } from 'drizzle-orm';

/*
 * Marks that let the event feed (GET /v1/events, `horizonFor` in @herald/router) look past a
 * running transaction: the feed serves only events whose transaction is older than every
 * transaction still running, unless that transaction says whose events it may write.
 */

/**
 * The advisory lock space of project marks: a transaction takes one in shared mode before its
 * first write (which gives it its id), so the feeds of the projects it does not write need not
 * wait for it. 'HRLD'.
 */
export const PROJECT_MARK_SPACE = 0x48524c44;

/**
 * The expression that marks the running transaction as writing `projectId`'s events only. It must
 * run before the transaction's first write, and the transaction must write no other project's
 * events. Marks are shared locks: they never wait for each other.
 */
export function markProjectWriter(projectId: string): SQL {
  return sql`pg_advisory_xact_lock_shared(${PROJECT_MARK_SPACE}, hashtext(${projectId}))`;
}

/**
 * The same for a transaction that inserts no event at all (history maintenance: it clears, moves
 * and drops events, each keeping the transaction id it was written with): no project's feed waits
 * for it. A project whose id hashes to the same value waits, as every project did before marks.
 */
export function markWritingNoEvents(): SQL {
  return markProjectWriter('herald: writes no events');
}
