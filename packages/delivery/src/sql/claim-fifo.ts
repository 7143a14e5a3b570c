import type { TemplateValue } from '@herald/db';
import type { SQL } from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import { FIFO_LOOKAHEAD } from './fifo-promote';

/** The claim's row conditions (claim.ts), each with the queue window written in. */
export interface ClaimParts {
  within: (column: string) => SQL;
  queuedRow: (alias: string) => SQL;
  dueRow: (alias: string) => SQL;
}

/**
 * Why a due row of a FIFO endpoint (alias `r`, with its endpoint_id, subject and sequence)
 * must wait: 0 it need not, 1 a later one of its subject is in flight (a manual retry of an
 * earlier one; that lease may run out, so it is not parked), 2 an earlier one is queued (it
 * promotes the subject's next when it ends, so this one may be parked).
 * A subject's deliveries go one at a time, in sequence order; an expired lease holds nothing
 * back. The earlier-row test is an ordered lookup of one row, stopping at the first earlier
 * queued row in the subject index. As an EXISTS (with an OR, or without: the generic plan chose
 * a bitmap scan), every backlog row read every earlier one: 4–7 s per claim behind a backlog
 * of 12,000. In-flight rows are few per endpoint (its cap), found by the (endpoint, status) index.
 */
export function fifoHoldOf(r: string, { queuedRow, within }: ClaimParts): SQL {
  const c = (column: string) => sql.raw(`${r}.${column}`);
  return sql`case when ${c('subject')} is null then 0
                 when (select p.sequence from deliveries p
                       where p.endpoint_id = ${c('endpoint_id')} and p.subject = ${c('subject')}
                         and p.sequence < ${c('sequence')} and ${queuedRow('p')}
                       order by p.endpoint_id, p.subject, p.sequence desc
                       limit 1) is not null then 2
                 when exists (
                   select 1 from deliveries p
                   where p.endpoint_id = ${c('endpoint_id')} and p.status = 'in_flight' and p.next_attempt_at > now()
                     and p.subject = ${c('subject')} and p.id <> ${c('id')} and ${within('p.id')}) then 1
                 else 0 end`;
}

/**
 * The claim's FIFO parking, as CTEs over its `budget` and `candidates`: `parked` ends it, and the
 * claim reports its count (ClaimResult.parked).
 */
export function fifoParkingCtes(v: TemplateValue, parts: ClaimParts): SQL {
  const { within, queuedRow, dueRow } = parts;
  const fifoHold = (r: string) => fifoHoldOf(r, parts);
  return sql`-- FIFO endpoints whose first rows are held up: fewer rows to take than they may, with at
        -- least FIFO_LOOKAHEAD of the rows read waiting. Those waiting for an earlier one of their
        -- subject are parked, each read and parked once, due again when the earlier one ends and
        -- promotes it (fifo-promote.ts); the claim then claims again at once (ClaimResult.parked).
        -- Fewer rows waiting at the front (a subject's next ones behind deliveries in flight, at
        -- most the endpoint's cap) are read again at each claim: parking costs two writes a row.
        clogged as (
          select b.endpoint_id, least(b.free, ${v('limit')}::int) as take from budget b
          where b.fifo and b.free > 0
            and (select count(*) from candidates c where c.endpoint_id = b.endpoint_id) < least(b.free, ${v('limit')}::int)
        ),
        held as (
          select clogged.endpoint_id, y.* from clogged cross join lateral (
            select q.id, q.next_attempt_at, q.updated_at, q.subject, q.sequence, ${fifoHold('q')} as hold from (
              select d.id, d.endpoint_id, d.next_attempt_at, d.updated_at, d.subject, d.sequence from deliveries d
              where d.endpoint_id = clogged.endpoint_id and ${dueRow('d')}
              order by d.next_attempt_at
              limit clogged.take + ${sql.raw(String(FIFO_LOOKAHEAD))}
            ) q
          ) y
        ),
        -- Each with the queued row it waits for: the one before it in its subject.
        to_park as (
          select h.id, h.next_attempt_at, h.updated_at,
                 (select p.id from deliveries p
                  where p.endpoint_id = h.endpoint_id and p.subject = h.subject and p.sequence < h.sequence
                    and ${queuedRow('p')}
                  order by p.endpoint_id, p.subject, p.sequence desc
                  limit 1) as blocker
          from held h
          join (select endpoint_id from held group by endpoint_id
                having count(*) filter (where hold > 0) >= ${sql.raw(String(FIFO_LOOKAHEAD))}) crowded
            on crowded.endpoint_id = h.endpoint_id
          where h.hold = 2
        ),
        -- The rows waited for, still queued, share-locked without waiting: their ending update waits
        -- for this claim, so the promotion that follows it sees the rows parked here (fifo-promote.ts).
        -- One being ended (or claimed) right now is locked, and what waits for it is not parked.
        blockers as (
          select b.id from deliveries b
          where b.id = any(array(select blocker from to_park)) and ${queuedRow('b')} and ${within('b.id')}
          for share skip locked
        ),
        -- Not yet attempted, still as they were read (one being promoted is locked, or changed), and
        -- behind a locked blocker: parked until promoted, or for one lease at most (a promotion
        -- lost with a dispatcher that died costs no more than the lease of its deliveries).
        parking as (
          select d.id from deliveries d
          where d.id = any(array(select id from to_park where blocker = any(array(select id from blockers))))
            and ${within('d.id')} and d.status = 'pending' and d.attempt_count = d.schedule_offset
            -- As read, by id (a join or IN here was planned as a nested loop: 1,064² comparisons).
            and (select jsonb_object_agg(id, jsonb_build_array(next_attempt_at, updated_at)) from to_park) -> d.id
                = jsonb_build_array(d.next_attempt_at, d.updated_at)
          for update of d skip locked
        ),
        parked as (
          update deliveries d
          set next_attempt_at = now() + ${v('leaseMs')} * interval '1 millisecond', updated_at = now()
          where d.id = any(array(select id from parking)) and ${within('d.id')}
          returning d.id
        )`;
}
