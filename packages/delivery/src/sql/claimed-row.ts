import { sql } from 'drizzle-orm';
import type { MessageEvent } from '../message';

/** A delivery handed to a sender: with its event, endpoint and signing secrets. */
export interface ClaimedDelivery {
  id: string;
  projectId: string;
  attemptCount: number;
  scheduleOffset: number;
  event: MessageEvent;
  endpoint: {
    id: string;
    url: string;
    headers: Record<string, string>;
    disabled: boolean;
    timeoutsInRow: number;
    /** It has a rate limit: the claim spent its tokens, so it is sent ahead of deliveries waiting for a slot. */
    rateLimited: boolean;
  };
  /** FIFO: a later delivery of its subject was parked behind it, so its end promotes that one (fifo-promote.ts). */
  wakesNext: boolean;
  /** Payload retention cleared the event's data: it is never sent. */
  payloadExpired: boolean;
  /** Newest first; several during a rotation's grace period. */
  secrets: string[];
  /**
   * The lease this claim holds: the end it set (`next_attempt_at`), in microseconds since the
   * epoch. Finishing checks it as well as the owner, so an attempt whose lease ran out and was
   * taken again, even by the same dispatcher, cannot finish the delivery under the new lease.
   */
  lease: string;
}

export interface ClaimRow extends Record<string, unknown> {
  id: string;
  project_id: string;
  attempt_count: number;
  schedule_offset: number;
  event_id: string;
  /** Null (like the other event columns) when the event is gone: see `claimedColumns`. */
  event_type: string | null;
  event_version: number | null;
  /** `data::text`: spliced into the envelope unparsed (see MessageEvent.dataJson); null where not read. */
  event_data_json: string | null;
  event_created_at: Date | string | null;
  event_subject: string | null;
  event_sequence: number | string | null;
  event_payload_expired: boolean;
  endpoint_id: string;
  endpoint_url: string;
  endpoint_headers: Record<string, string>;
  endpoint_disabled: boolean;
  endpoint_timeouts_in_row: number;
  endpoint_rate_limited: boolean;
  wakes_next: boolean;
  secrets: string[];
  lease: string;
  /** The dispatcher's claim only: how many rows it parked (on every row, and on a row of nulls when it took none). */
  parked_count?: number;
}

/**
 * A lease's end as its fencing token (`ClaimedDelivery.lease`): exact microseconds, whatever the
 * session's DateStyle. `extract` returns numeric, so nothing is rounded.
 */
export const leaseToken = (column: string) => sql.raw(`((extract(epoch from ${column}) * 1000000)::bigint)::text`);

/**
 * The claimed deliveries' endpoints, each once, with its signing secrets: a CTE over `claimed`
 * that a claim's answer joins as `ep`. Materialized, so the secrets are looked up once per
 * endpoint rather than once per delivery (a claim of 56 deliveries to one endpoint ran the
 * lookup 56 times, an eighth of the claim's execution).
 */
export const claimedEndpointsCte = sql`claimed_endpoints as materialized (
          select ep.id, ep.url, ep.headers, ep.disabled, ep.timeouts_in_row, ep.rate_limit,
                 ${signingSecretsOf('ep')} as secrets
          from endpoints ep
          where ep.id in (select endpoint_id from claimed)
        )`;

/**
 * The signing secrets of the endpoint row `alias`, newest first: the current secret and any still
 * in a rotation's grace period. What a claim sends with, and what a delivery that waited for a
 * slot is sent with (endpoint-config.ts).
 */
export function signingSecretsOf(alias: string) {
  const ep = sql.raw(alias);
  return sql`coalesce((select array_agg(s.secret order by s.id desc) from endpoint_secrets s
                       where s.endpoint_id = ${ep}.id and (s.expires_at is null or s.expires_at > now())),
                      '{}')`;
}

/**
 * The select list of a claim's answer, over `claimed c` (the updated deliveries, with their
 * `lease`) left-joined with `events e` and joined with `claimed_endpoints ep`
 * (`claimedEndpointsCte`): shared by the dispatcher's claim and the `herald listen` relay. A
 * delivery whose event is gone comes back as one whose payload expired, and is failed unsent: an
 * inner join left it claimed and leased again at every lease's end, for ever, holding a slot of
 * its endpoint.
 */
export const claimedColumns = sql`c.id, c.project_id, c.attempt_count, c.schedule_offset, c.wakes_next, c.lease,
               c.event_id, e.type as event_type, e.version as event_version,
               e.data::text as event_data_json, e.created_at as event_created_at,
               e.subject as event_subject, e.sequence as event_sequence,
               -- An event no longer there (its day dropped while a recovery queued it) has no payload either.
               (e.id is null or e.payload_expired_at is not null) as event_payload_expired,
               ep.id as endpoint_id, ep.url as endpoint_url, ep.headers as endpoint_headers,
               ep.disabled as endpoint_disabled, ep.timeouts_in_row as endpoint_timeouts_in_row,
               ep.rate_limit is not null as endpoint_rate_limited, ep.secrets`;

/**
 * A claim's rows as deliveries, one event object per event: its deliveries to several endpoints
 * share it, so its body is built once (`envelopeBody`) and one copy of its data is kept.
 */
export function toClaimedDeliveries(rows: readonly ClaimRow[]): ClaimedDelivery[] {
  const events = new Map<string, ClaimedDelivery['event']>();
  return rows.map((row) => {
    const delivery = toClaimedDelivery(row);
    const shared = events.get(delivery.event.id);
    if (shared) delivery.event = shared;
    else events.set(delivery.event.id, delivery.event);
    return delivery;
  });
}

export function toClaimedDelivery(row: ClaimRow): ClaimedDelivery {
  return {
    id: row.id,
    projectId: row.project_id,
    attemptCount: Number(row.attempt_count),
    scheduleOffset: Number(row.schedule_offset),
    event: {
      id: row.event_id,
      type: row.event_type ?? '',
      version: Number(row.event_version ?? 0),
      data: null,
      dataJson: row.event_data_json ?? undefined,
      createdAt: new Date(row.event_created_at ?? 0),
      subject: row.event_subject,
      sequence: row.event_sequence === null ? null : Number(row.event_sequence),
    },
    endpoint: {
      id: row.endpoint_id,
      url: row.endpoint_url,
      headers: row.endpoint_headers,
      disabled: row.endpoint_disabled,
      timeoutsInRow: Number(row.endpoint_timeouts_in_row),
      rateLimited: row.endpoint_rate_limited === true,
    },
    wakesNext: row.wakes_next === true,
    secrets: row.secrets,
    payloadExpired: row.event_payload_expired === true,
    lease: String(row.lease),
  };
}
