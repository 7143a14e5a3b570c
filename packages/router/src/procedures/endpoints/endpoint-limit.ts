import type { Database } from '@herald/db';
import { executeRows } from '@herald/db';
import { sql } from 'drizzle-orm';
import { apiError } from '../../errors';

/**
 * Refuses a new endpoint once the project has `max` (409 `endpoint_limit_reached`), in the
 * transaction that inserts it. Endpoints are what one tenant can multiply into everyone's cost: an
 * event fans out to each of its endpoints in the request that records it, and every claim of every
 * dispatcher visits each endpoint with queued work, due or not (about 6 µs each: 30,000 endpoints
 * waiting for retries made every tenant's claims take 178 ms). Stripe allows 16 per account and
 * GitHub 20 per event; `HERALD_MAX_ENDPOINTS_PER_PROJECT` raises it.
 *
 * The count is taken under a per-project transaction lock, so creates racing on many API
 * processes cannot pass it together.
 */
export async function assertEndpointRoom(tx: Database, projectId: string, max: number): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`herald.endpoints:${projectId}`}, 0))`);
  // Counting stops at `max`: a project already over it (the limit lowered) costs no more to refuse.
  const [row] = await executeRows<{ n: number }>(
    tx,
    sql`select count(*)::int as n from (select 1 from endpoints where project_id = ${projectId} limit ${max}) e`,
  );
  if ((row?.n ?? 0) >= max) {
    throw apiError(
      'endpoint_limit_reached',
      `This project has ${max} endpoints, the most it may have: delete one first (the operator sets the limit with HERALD_MAX_ENDPOINTS_PER_PROJECT)`,
      { limit: max },
    );
  }
}
