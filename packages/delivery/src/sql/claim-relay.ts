import type { Database } from '@herald/db';
import { executeRows } from '@herald/db';
import { sql } from 'drizzle-orm';
import type { ClaimedDelivery, ClaimRow } from './claimed-row';
import { claimedColumns, claimedEndpointsCte, leaseToken, toClaimedDelivery } from './claimed-row';
import { isDue } from './due';

export interface RelayClaimOptions {
  /** The one endpoint (kind `listen`) whose deliveries are relayed. */
  endpointId: string;
  /** The stream's lease owner: `recordAttempt` moves a delivery on only for its owner. */
  owner: string;
  leaseMs: number;
  /** Most deliveries this owner holds at once: unreported ones count, so a stalled CLI is not flooded. */
  maxOutstanding: number;
}

/**
 * pending → in_flight for ONE endpoint and one lease owner (a `herald listen` stream held by an
 * API process), with the lease semantics of `claimDueDeliveries`: `status = 'in_flight'`,
 * `next_attempt_at = now() + lease`, `lease_owner`. A stream that goes away leaves its
 * deliveries to expire and be due again; `recordAttempt` with the same owner finishes them.
 * Oldest first, at most `maxOutstanding` leases held by this owner at once. SKIP LOCKED: two
 * streams of one endpoint (a CLI reconnecting) never take the same delivery.
 */
export async function claimRelayDeliveries(db: Database, options: RelayClaimOptions): Promise<ClaimedDelivery[]> {
  const rows = await executeRows<ClaimRow>(
    db,
    sql`with held as (
          select count(*)::int as n from deliveries f
          where f.endpoint_id = ${options.endpointId} and f.status = 'in_flight'
            and f.lease_owner = ${options.owner} and f.next_attempt_at > now()
        ),
        locked as (
          select d.id from deliveries d
          where d.endpoint_id = ${options.endpointId} and ${isDue('d')}
          order by d.next_attempt_at
          limit greatest(${options.maxOutstanding}::int - (select n from held), 0)
          for update skip locked
        ),
        claimed as (
          update deliveries d
          set status = 'in_flight',
              next_attempt_at = now() + ${options.leaseMs} * interval '1 millisecond',
              lease_owner = ${options.owner},
              updated_at = now()
          from locked where d.id = locked.id
          returning d.id, d.project_id, d.endpoint_id, d.event_id, d.attempt_count, d.schedule_offset,
                    d.wakes_next, ${leaseToken('d.next_attempt_at')} as lease
        ),
        ${claimedEndpointsCte}
        select ${claimedColumns}
        from claimed c
        left join events e on e.id = c.event_id
        join claimed_endpoints ep on ep.id = c.endpoint_id
        order by c.id`,
  );
  return rows.map(toClaimedDelivery);
}

/**
 * A delivery this owner still holds, as `recordAttempt` needs it (the CLI reports the outcome in
 * another request, possibly to another API process): null once the lease is gone (expired and
 * taken again, finished, or the endpoint deleted).
 */
export async function findRelayLease(
  db: Database,
  options: { endpointId: string; deliveryId: string; owner: string },
): Promise<ClaimedDelivery | null> {
  const [row] = await executeRows<ClaimRow>(
    db,
    sql`select d.id, d.project_id, d.attempt_count, d.schedule_offset, d.wakes_next, ${leaseToken('d.next_attempt_at')} as lease,
               e.id as event_id, e.type as event_type, e.version as event_version,
               null::text as event_data_json, e.created_at as event_created_at,
               e.subject as event_subject, e.sequence as event_sequence,
               e.payload_expired_at is not null as event_payload_expired,
               ep.id as endpoint_id, ep.url as endpoint_url, ep.headers as endpoint_headers,
               ep.disabled as endpoint_disabled, ep.timeouts_in_row as endpoint_timeouts_in_row,
               '{}'::text[] as secrets
        from deliveries d
        join events e on e.id = d.event_id
        join endpoints ep on ep.id = d.endpoint_id
        where d.id = ${options.deliveryId} and d.endpoint_id = ${options.endpointId}
          and d.status = 'in_flight' and d.lease_owner = ${options.owner}`,
  );
  return row ? toClaimedDelivery(row) : null;
}
