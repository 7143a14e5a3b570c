import { activeSecretsByEndpoint, endpoints, events, executeRows } from '@herald/db';
import type { Database } from '@herald/db';
import { inArray, sql } from 'drizzle-orm';

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
  endpoint_id: string;
  event_id: string;
  attempt_count: number;
  schedule_offset: number;
}

/**
 * Takes up to `limit` due deliveries for this worker. SKIP LOCKED lets many
 * dispatchers claim side by side without waiting on or double-taking each
 * other's rows; the lease (`next_attempt_at` in the future while in flight)
 * makes a dead worker's deliveries due again once it expires.
 */
export async function claimDueDeliveries(
  db: Database,
  options: { limit: number; leaseMs: number; owner: string },
): Promise<ClaimedDelivery[]> {
  const rows = await executeRows<ClaimRow>(
    db,
    sql`with due as (
          select id from deliveries
          where status in ('pending', 'in_flight') and next_attempt_at <= now()
          order by next_attempt_at
          limit ${options.limit}
          for update skip locked
        )
        update deliveries d
        set status = 'in_flight',
            next_attempt_at = now() + ${options.leaseMs} * interval '1 millisecond',
            lease_owner = ${options.owner},
            updated_at = now()
        from due where d.id = due.id
        returning d.id, d.project_id, d.endpoint_id, d.event_id, d.attempt_count, d.schedule_offset`,
  );
  if (rows.length === 0) return [];

  const eventIds = [...new Set(rows.map((r) => r.event_id))];
  const endpointIds = [...new Set(rows.map((r) => r.endpoint_id))];
  const [eventRows, endpointRows, secrets] = await Promise.all([
    db
      .select({ id: events.id, type: events.type, version: events.version, data: events.data, createdAt: events.createdAt })
      .from(events)
      .where(inArray(events.id, eventIds)),
    db
      .select({ id: endpoints.id, url: endpoints.url, headers: endpoints.headers, disabled: endpoints.disabled })
      .from(endpoints)
      .where(inArray(endpoints.id, endpointIds)),
    activeSecretsByEndpoint(db, endpointIds),
  ]);
  const eventById = new Map(eventRows.map((e) => [e.id, e]));
  const endpointById = new Map(endpointRows.map((e) => [e.id, e]));

  return rows.flatMap((row) => {
    const event = eventById.get(row.event_id);
    const endpoint = endpointById.get(row.endpoint_id);
    // Both cascade-delete with the delivery; a miss means it vanished meanwhile.
    if (!event || !endpoint) return [];
    return [
      {
        id: row.id,
        projectId: row.project_id,
        attemptCount: Number(row.attempt_count),
        scheduleOffset: Number(row.schedule_offset),
        event,
        endpoint,
        secrets: secrets.get(endpoint.id) ?? [],
      },
    ];
  });
}
