import type { Database } from '@herald/db';
import { executeRows } from '@herald/db';
import { sql } from 'drizzle-orm';
import { isDue } from './due';

export interface ClaimedDelivery {
  id: string;
  projectId: string;
  attemptCount: number;
  scheduleOffset: number;
  event: { id: string; type: string; version: number; data: unknown; createdAt: Date };
  endpoint: { id: string; url: string; headers: Record<string, string>; disabled: boolean };
  /** Newest first; several during a rotation's grace period. */
  secrets: string[];
}

interface ClaimRow extends Record<string, unknown> {
  id: string;
  project_id: string;
  attempt_count: number;
  schedule_offset: number;
  event_id: string;
  event_type: string;
  event_version: number;
  event_data: unknown;
  event_created_at: Date | string;
  endpoint_id: string;
  endpoint_url: string;
  endpoint_headers: Record<string, string>;
  endpoint_disabled: boolean;
  secrets: string[];
}

/**
 * pending → in_flight: takes up to `limit` due deliveries for this worker, with everything
 * needed to send them, in one statement (one round trip). SKIP LOCKED lets
 * many dispatchers claim side by side without waiting on or double-taking
 * each other's rows; the lease (`next_attempt_at` in the future while in
 * flight) makes a dead worker's deliveries due again once it expires.
 */
export async function claimDueDeliveries(
  db: Database,
  options: { limit: number; leaseMs: number; owner: string },
): Promise<ClaimedDelivery[]> {
  const rows = await executeRows<ClaimRow>(
    db,
    sql`with due as (
          select id from deliveries
          where ${isDue}
          order by next_attempt_at
          limit ${options.limit}
          for update skip locked
        ),
        claimed as (
          update deliveries d
          set status = 'in_flight',
              next_attempt_at = now() + ${options.leaseMs} * interval '1 millisecond',
              lease_owner = ${options.owner},
              updated_at = now()
          from due where d.id = due.id
          returning d.id, d.project_id, d.endpoint_id, d.event_id, d.attempt_count, d.schedule_offset
        )
        select c.id, c.project_id, c.attempt_count, c.schedule_offset,
               e.id as event_id, e.type as event_type, e.version as event_version,
               e.data as event_data, e.created_at as event_created_at,
               ep.id as endpoint_id, ep.url as endpoint_url, ep.headers as endpoint_headers,
               ep.disabled as endpoint_disabled,
               -- Newest first: the current secret and any still in a rotation's grace period.
               coalesce((select array_agg(s.secret order by s.id desc) from endpoint_secrets s
                         where s.endpoint_id = ep.id and (s.expires_at is null or s.expires_at > now())),
                        '{}') as secrets
        from claimed c
        join events e on e.id = c.event_id
        join endpoints ep on ep.id = c.endpoint_id`,
  );
  return rows.map((row) => ({
    id: row.id,
    projectId: row.project_id,
    attemptCount: Number(row.attempt_count),
    scheduleOffset: Number(row.schedule_offset),
    event: {
      id: row.event_id,
      type: row.event_type,
      version: Number(row.event_version),
      data: row.event_data,
      createdAt: new Date(row.event_created_at),
    },
    endpoint: {
      id: row.endpoint_id,
      url: row.endpoint_url,
      headers: row.endpoint_headers,
      disabled: row.endpoint_disabled,
    },
    secrets: row.secrets,
  }));
}
