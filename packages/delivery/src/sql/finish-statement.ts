import type { Database, TemplateValue } from '@herald/db';
import { executeHotTemplate, idTimestamp } from '@herald/db';
import type { SQL } from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import { leaseToken } from './claimed-row';
import { idDaysTextKey, inIdDays } from './queue-window';

/** The `error_class` of an attempt sent after its lease ran out (its delivery went on under another). */
export const LEASE_LOST = 'lease_lost';
const LEASE_LOST_MESSAGE = 'sent after its lease ran out; the delivery went on under another attempt';

/** One attempt row, as `delivery_attempts` stores it. */
export interface AttemptRow {
  id: string;
  delivery_id: string;
  endpoint_id: string;
  attempt_number: number;
  started_at: string;
  duration_ms: number;
  status_code: number | null;
  error_class: string | null;
  error_message: string | null;
  response_body: string | null;
}

/** One delivery's next step. */
export interface OutcomeRow {
  id: string;
  lease: string;
  status: string;
  attempt_count: number;
  delay_ms: number | null;
  status_code: number | null;
  last_error: string | null;
}

export interface FinishBatch {
  /** The batch's delivery ids, sorted. */
  sortedIds: readonly string[];
  attempts: readonly AttemptRow[];
  rows: readonly OutcomeRow[];
  /** The worker whose leases these are. */
  owner: string;
  /** Also update the endpoints' health and speed (not in the bare fallback). */
  bookkeeping: boolean;
}

/**
 * One statement, one round trip, committed on its own: the attempts (of deliveries deleted
 * meanwhile, with their endpoint, skipped rather than failing the batch), each delivery's next
 * step (only where this worker still holds the lease), and the endpoints' bookkeeping. Returns
 * the deliveries it moved on.
 *
 * Rows travel as JSON, so the text is the same for any batch size: a prepared statement, parsed
 * once per connection, and built once per text (`executeHotTemplate`: building it with drizzle
 * took ~1.6 % of the dispatcher's busy time). Each array is sent once and read once, as `json`
 * (its text is checked, then read as it is walked): as `jsonb`, the ~18 KB of a batch of 64
 * attempts took ~5 µs of PostgreSQL's CPU per delivery to convert, and the attempts went over
 * twice, the ids three times. Rows are found by primary key (`id = any(…)`), and by the batch's
 * id range as well: PostgreSQL prunes partitions with the range, not with the array, and each
 * other day's partition would cost a probe per id. The batch's days are written into the text as
 * constants too, so one generic plan per text reads only those days, and the id range prunes
 * further when it runs. It runs on the connection that plans generically (as the claim does):
 * under `plan_cache_mode = auto` PostgreSQL kept planning it with its values at every call (3.4 ms
 * of planning per batch, a third of PostgreSQL's CPU per delivery, seen with
 * `log_min_duration_statement` as `bind` time). Ids without a time (before partitioning) leave
 * the days out.
 */
export function writeFinishStatement(db: Database, batch: FinishBatch): Promise<Array<{ id: string }>> {
  const first = idTimestamp(batch.sortedIds[0]!)?.getTime();
  const last = idTimestamp(batch.sortedIds.at(-1)!)?.getTime();
  const days = first !== undefined && last !== undefined ? { first, last } : null;
  const key = `finish:${batch.bookkeeping}:${days ? idDaysTextKey(days.first, days.last) : '-'}`;
  return executeHotTemplate<{ id: string }>(
    db,
    key,
    (value) => finishTemplate(value, days, batch.bookkeeping),
    {
      ids: JSON.stringify(batch.sortedIds),
      attempts: JSON.stringify(batch.attempts),
      rows: JSON.stringify(batch.rows),
      low: batch.sortedIds[0],
      high: batch.sortedIds.at(-1),
      owner: batch.owner,
    },
    'generic',
  );
}

function finishTemplate(value: TemplateValue, days: { first: number; last: number } | null, bookkeeping: boolean) {
  const inDays = days ? sql` and ${inIdDays(sql`d.id`, 'delivery', days.first, days.last)}` : sql``;
  const byId = sql`d.id = any((select ids from batch_ids)::text[])
                   and d.id between ${value('low')} and ${value('high')}${inDays}`;
  return sql`with batch_ids as (
      select array(select json_array_elements_text(${value('ids')}::text::json)) as ids
    ),
    attempt_rows as (
      select * from json_to_recordset(${value('attempts')}::text::json)
        as a(id text, delivery_id text, endpoint_id text, attempt_number int, started_at timestamptz,
             duration_ms int, status_code int, error_class text, error_message text, response_body text)
    ),
    moved as (
      update deliveries d
      set status = v.status,
          attempt_count = v.attempt_count,
          next_attempt_at = case when v.delay_ms is null then null
                                 else now() + v.delay_ms * interval '1 millisecond' end,
          lease_owner = null,
          last_status_code = v.status_code,
          last_error = v.last_error,
          completed_at = case when v.status = 'pending' then null else now() end,
          updated_at = now()
      from json_to_recordset(${value('rows')}::text::json)
        as v(id text, lease text, status text, attempt_count int, delay_ms bigint, status_code int, last_error text)
      where ${byId} and d.id = v.id and d.lease_owner = ${value('owner')}::text and d.status = 'in_flight'
        and ${leaseToken('d.next_attempt_at')} = v.lease
      returning d.id, v.status, d.excerpts_erased
    ),
    -- An attempt made after its lease ran out (another attempt has the delivery, under the same
    -- number) is logged as what it was, flagged as such, with its status but not its answer: the
    -- delivery may have finished meanwhile and its user been erased (an erasure marks only the
    -- deliveries still queued), and the answer may echo the data erased.
    logged as (
      insert into delivery_attempts
        (id, delivery_id, attempt_number, started_at, duration_ms, status_code, error_class, error_message, response_body)
      select a.id, a.delivery_id, a.attempt_number, a.started_at, a.duration_ms, a.status_code,
             case when a.delivery_id in (select id from moved) then a.error_class else '${sql.raw(LEASE_LOST)}' end,
             case when a.delivery_id in (select id from moved) then a.error_message
                  else '${sql.raw(LEASE_LOST_MESSAGE)}' end,
             -- Not the answer to a webhook whose user was erased while it was queued: it may echo
             -- the data erased (erasure.ts).
             case when a.delivery_id in (select id from moved where excerpts_erased) then null
                  when a.delivery_id in (select id from moved) then a.response_body
                  else null end
      from attempt_rows a
      where a.delivery_id in (select d.id from deliveries d where ${byId})
    )${bookkeeping ? endpointBookkeeping : sql``}
    select id from moved`;
}

/**
 * The endpoints' health and speed, from the attempts whose outcome this worker moved: a success
 * ends a run of failures, a failure starts one; a moving average of answer times and the
 * timeouts in a row, which fair claiming reads (one update per endpoint: a statement may not
 * update a row twice).
 */
const endpointBookkeeping: SQL = sql`, speed as (
      select a.endpoint_id, bool_or(m.status = 'succeeded') as succeeded, avg(a.duration_ms)::real as ms,
             (count(*) filter (where a.error_class = 'timeout'))::int as timeouts,
             bool_or(a.error_class is distinct from 'timeout') as answered
      from moved m
      join attempt_rows a on a.delivery_id = m.id
      group by a.endpoint_id
    ),
    health as (
      update endpoints e
      set failing_since = case when s.succeeded then null else coalesce(e.failing_since, now()) end,
          latency_ms = case when e.latency_ms is null then s.ms else e.latency_ms * 0.7 + s.ms * 0.3 end,
          timeouts_in_row = case when s.answered then 0 else e.timeouts_in_row + s.timeouts end
      from speed s
      where e.id = s.endpoint_id
    )`;
