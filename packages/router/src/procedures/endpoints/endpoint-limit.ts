import type { Database } from '@herald/db';
import { executeRows } from '@herald/db';
import { sql } from 'drizzle-orm';
import { apiError } from '../../errors';

/**
 * `herald listen` endpoints one project may create in a day (`LISTEN_ENDPOINT_WINDOW_MS`). Apart from
 * the project's limit: a CLI killed without Ctrl-C (a closed laptop, `kill -9`) leaves its endpoint
 * behind, and a hundred such leftovers must not stop the project creating its production endpoints.
 * Counted over a day, leftovers older than that block nothing.
 */
export const MAX_NEW_LISTEN_ENDPOINTS = 20;
export const LISTEN_ENDPOINT_WINDOW_MS = 24 * 60 * 60 * 1000;

/**
 * `herald listen` endpoints one project may have at once, however old. Maintenance deletes those no
 * stream held for a day, so only streams kept open (or opened once a day) hold more than a day's 20.
 */
export const MAX_LISTEN_ENDPOINTS = 50;

/** Tries of the per-project lock, 25 ms apart, before a create answers 503 (see below). */
const LOCK_TRIES = 40;

/**
 * Refuses a new endpoint of `kind` once the project has `max` http endpoints, or has created
 * MAX_NEW_LISTEN_ENDPOINTS listen endpoints in the last day or has MAX_LISTEN_ENDPOINTS of them
 * (409 `endpoint_limit_reached`), in the transaction that inserts it. Endpoints are what one tenant can multiply into everyone's cost: an
 * event fans out to each of its endpoints in the request that records it, and every claim of every
 * dispatcher visits each endpoint with queued work, due or not (about 6 µs each: 30,000 endpoints
 * waiting for retries made every tenant's claims take 178 ms). Stripe allows 16 per account and
 * GitHub 20 per event; `HERALD_MAX_ENDPOINTS_PER_PROJECT` raises it.
 *
 * The count is taken under a per-project transaction lock, so creates racing on many API
 * processes cannot pass it together. Tried, not waited for: in a keyed request's transaction the
 * lock lasts until that request ends, and a batch that waited for it while holding another lock
 * (a user's row) could deadlock with one that took them the other way round.
 */
export async function assertEndpointRoom(
  tx: Database,
  projectId: string,
  kind: 'http' | 'listen',
  max: number,
): Promise<void> {
  const lockName = `herald.endpoints:${projectId}`;
  for (let tries = 1; ; tries++) {
    const [lock] = await executeRows<{ ok: boolean }>(
      tx,
      sql`select pg_try_advisory_xact_lock(hashtextextended(${lockName}, 0)) as ok`,
    );
    if (lock?.ok) break;
    if (tries >= LOCK_TRIES) {
      throw apiError('service_unavailable', 'Another endpoint of this project is being created; retry shortly');
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const limit = kind === 'http' ? max : MAX_NEW_LISTEN_ENDPOINTS;
  const since =
    kind === 'listen' ? sql`and created_at > now() - ${LISTEN_ENDPOINT_WINDOW_MS} * interval '1 millisecond'` : sql``;
  // Counting stops at `limit`: a project already over it (the limit lowered) costs no more to refuse.
  const [row] = await executeRows<{ n: number }>(
    tx,
    sql`select count(*)::int as n from (
          select 1 from endpoints where project_id = ${projectId} and kind = ${kind} ${since} limit ${limit}) e`,
  );
  if ((row?.n ?? 0) < limit) {
    if (kind === 'http') return;
    const [all] = await executeRows<{ n: number }>(
      tx,
      sql`select count(*)::int as n from (
            select 1 from endpoints where project_id = ${projectId} and kind = 'listen' limit ${MAX_LISTEN_ENDPOINTS}) e`,
    );
    if ((all?.n ?? 0) < MAX_LISTEN_ENDPOINTS) return;
    throw apiError(
      'endpoint_limit_reached',
      `This project has ${MAX_LISTEN_ENDPOINTS} development endpoints, the most it may have at once: delete the ones no herald listen uses`,
      { limit: MAX_LISTEN_ENDPOINTS },
    );
  }
  throw apiError(
    'endpoint_limit_reached',
    kind === 'http'
      ? `This project has ${limit} endpoints, the most it may have: delete one first (the operator sets the limit with HERALD_MAX_ENDPOINTS_PER_PROJECT)`
      : `This project created ${limit} development endpoints in the last 24 hours, the most it may: delete the ones left behind (herald listen removes its own on Ctrl-C)`,
    { limit },
  );
}
