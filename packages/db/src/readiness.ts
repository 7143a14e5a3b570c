import { sql } from 'drizzle-orm';
import type { Database } from './client';

/** How long a readiness probe waits for `select 1`. */
export const READY_TIMEOUT_MS = 2_000;

/**
 * True if the database answers `select 1` within `timeoutMs`; false if it fails or is still
 * running (the query is left to finish). Bounded: an orchestrator's probe must get an answer while
 * the database is away or stopped answering, not a hang.
 */
export async function databaseReady(db: Database, timeoutMs = READY_TIMEOUT_MS): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([
      db.execute(sql`select 1`).then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
