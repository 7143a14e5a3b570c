import type { TemplateValue } from '@herald/db';
import type { SQL } from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import { isParked, isUnattempted, previousQueuedRow } from './due';

/**
 * Most rows of one FIFO endpoint that must wait a claim passes over looking for rows it may take:
 * with this many waiting in front, it parks them instead (claim.ts), so a claim's cost is bounded
 * whatever the backlog. More than the rows an endpoint can have in flight (384 by default): a
 * subject's next rows waiting behind deliveries in flight are few, and parking costs two writes.
 */
export const FIFO_LOOKAHEAD = 1_000;

/** Most clogged FIFO endpoints one claim parks for (or looks past): see `clogged`. */
const FIFO_CLOGGED_PER_CLAIM = 4;

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
                 when (${previousQueuedRow(r, 'p.sequence', queuedRow)}) is not null then 2
                 when exists (
                   select 1 from deliveries p
                   where p.endpoint_id = ${c('endpoint_id')} and p.status = 'in_flight' and p.next_attempt_at > now()
                     and p.subject = ${c('subject')} and p.id <> ${c('id')} and ${within('p.id')}) then 1
                 else 0 end`;
}

/**
 * The claim's FIFO parking, as CTEs over its `budget` and `candidates` (each endpoint's first rows
 * that may go, found in its first `take` + FIFO_LOOKAHEAD due rows): `parked` is what it parked (the
 * claim reports the count, ClaimResult.parked), `beyond` what else may go, `waited` the rows the
 * parked ones wait for, which the claim marks (`fifoWaitedMarkCte`, and as it claims them).
 */
export function fifoParkingCtes(v: TemplateValue, parts: ClaimParts): SQL {
  const { within, queuedRow, dueRow } = parts;
  const fifoHold = (r: string) => fifoHoldOf(r, parts);
  const lookahead = sql.raw(String(FIFO_LOOKAHEAD));
  return sql`-- FIFO endpoints whose first rows are held up: fewer rows to take than they may, and more
        -- due rows than were read. Their rows waiting for an earlier one of their subject are
        -- parked, each read and parked once, due again when the earlier one ends and promotes it
        -- (fifo-promote.ts); the claim then claims again at once. Fewer rows waiting at the front
        -- (a subject's next ones behind deliveries in flight, at most the endpoint's cap) are read
        -- again at each claim: parking costs two writes a row.
        clogged as (
          select b.endpoint_id, t.take, f.found
          from budget b
          cross join lateral (select least(b.free, ${v('limit')}::int) as take) t
          cross join lateral (select count(*)::int as found from candidates c where c.endpoint_id = b.endpoint_id) f
          where b.fifo and b.free > 0 and f.found < t.take
            and exists (select 1 from deliveries d where d.endpoint_id = b.endpoint_id and ${dueRow('d')}
                        order by d.next_attempt_at offset t.take + ${lookahead} limit 1)
          -- A few per claim, picked at random: parking costs ~50 µs a row, and 20 tenants' clogged
          -- endpoints at once made one claim take 1 s. The claim after this one comes at once.
          order by random()
          limit ${sql.raw(String(FIFO_CLOGGED_PER_CLAIM))}
        ),
        held as (
          select clogged.endpoint_id, y.* from clogged cross join lateral (
            select q.id, q.next_attempt_at, q.updated_at, q.subject, q.sequence, q.fresh, ${fifoHold('q')} as hold from (
              select d.id, d.endpoint_id, d.next_attempt_at, d.updated_at, d.subject, d.sequence,
                     ${isUnattempted('d')} as fresh
              from deliveries d
              where d.endpoint_id = clogged.endpoint_id and ${dueRow('d')}
              order by d.next_attempt_at
              limit clogged.take + ${lookahead}
            ) q
          ) y
        ),
        -- Not yet attempted (a parked row is told from one waiting for its retry by that), each with
        -- the queued row it waits for: the one before it in its subject.
        to_park as (
          select h.endpoint_id, h.id, h.next_attempt_at, h.updated_at, bl.id as blocker,
                 bl.status = 'pending' as blocker_pending, bl.wakes_next as blocker_marked,
                 ${isParked('bl')} as blocker_parked
          from held h
          cross join lateral (
            ${previousQueuedRow('h', 'p.id, p.status, p.wakes_next, p.attempt_count, p.schedule_offset, p.next_attempt_at', queuedRow)}
          ) bl
          where h.hold = 2 and h.fresh
        ),
        -- The rows waited for, still pending, locked without waiting: each one a row is parked behind
        -- is marked \`wakes_next\` by this claim (\`waited\`), and can only be claimed (FOR UPDATE, which
        -- these locks make skip it) once the mark and the park are committed, so the claim that takes
        -- it reads the mark, and the promotion after its end sees the row parked (fifo-promote.ts).
        -- One marked already, or parked, is only key-share-locked: its promotion (no key update) goes
        -- on, and marks it as it makes it due (fifo-promote.ts); marking a parked row here would turn
        -- that promotion away. One whose park runs out unpromoted ends unmarked: the row behind it
        -- waits out its own park (a lease). One in flight is not locked (its outcome must not wait
        -- for a claim): the single row behind it stays due.
        blockers_to_mark as (
          select b.id from deliveries b
          where b.id = any(array(select blocker from to_park
                                 where blocker_pending and not blocker_marked and not blocker_parked))
            and b.status = 'pending' and not b.wakes_next and not ${isParked('b')} and ${within('b.id')}
          for no key update skip locked
        ),
        blockers_marked as (
          select b.id from deliveries b
          where b.id = any(array(select blocker from to_park where blocker_pending and (blocker_marked or blocker_parked)))
            and b.status = 'pending' and (b.wakes_next or ${isParked('b')}) and ${within('b.id')}
          for key share skip locked
        ),
        blockers as (select id from blockers_to_mark union all select id from blockers_marked),
        -- Still as they were read (one being promoted is locked, or changed), behind a locked
        -- blocker: parked until promoted, or for one lease at most (a promotion lost with a
        -- dispatcher that died costs no more than the lease of its deliveries). Looked up by id in
        -- JSON objects: as joins or arrays, these were planned as nested loops (n² comparisons).
        parking as (
          select d.id from deliveries d
          where d.id = any(array(select t.id from to_park t
                                 where (select jsonb_object_agg(b.id, true) from blockers b) ? t.blocker))
            and ${within('d.id')} and ${isUnattempted('d')}
            and (select jsonb_object_agg(id, jsonb_build_array(next_attempt_at, updated_at)) from to_park) -> d.id
                = jsonb_build_array(d.next_attempt_at, d.updated_at)
          for update of d skip locked
        ),
        -- The rows the parked ones wait for, each marked by the one update of this statement that
        -- writes it (\`parked\` below when parked itself, the claim's \`claimed\` when it takes it, else
        -- \`marked\`): of two updates of one row in one statement, only one takes effect.
        waited as (
          -- By id in a JSON object: as a join, the generic plan (to_park guessed at one row) made it
          -- a nested loop, 9,000,000 comparisons for 4 clogged endpoints of 1,000 subjects.
          select (select jsonb_object_agg(t.id, t.blocker) from to_park t) ->> p.id as id from parking p
        ),
        parked as (
          update deliveries d
          set next_attempt_at = now() + ${v('leaseMs')} * interval '1 millisecond', updated_at = now(),
              wakes_next = d.wakes_next or d.id in (select id from waited)
          where d.id = any(array(select id from parking)) and ${within('d.id')}
          returning d.id, d.endpoint_id
        ),
        -- Clogged by rows that cannot be parked (waiting for retries of their own, or behind rows
        -- in flight): the rows that may go are looked for past what was read, as every claim did
        -- before there was a lookahead, however far that is. Otherwise such an endpoint would
        -- never be claimed again (rows put back by a recovery behind their subjects' overdue retries).
        beyond as (
          select x.id, x.project_id, x.endpoint_id, x.next_attempt_at
          from clogged s cross join lateral (
            select r.id, r.project_id, r.endpoint_id, r.next_attempt_at from (
              select d.id, d.project_id, d.endpoint_id, d.next_attempt_at, d.subject, d.sequence from deliveries d
              where d.endpoint_id = s.endpoint_id and ${dueRow('d')}
              order by d.next_attempt_at
              offset s.take + ${lookahead}
            ) r
            where ${fifoHold('r')} = 0
            limit s.take - s.found
          ) x
          -- Fewer than a quarter of the lookahead could be parked (by their state: rows another claim
          -- holds count, that claim parks them): the next claims would not get far either.
          where (select count(*) from to_park t where t.endpoint_id = s.endpoint_id and t.blocker_pending)
                < ${sql.raw(String(FIFO_LOOKAHEAD / 4))}
        )`;
}

/**
 * The rows parked ones wait for (`waited`) not marked yet, marked `wakes_next`: those this claim
 * locked to mark (`blockers_to_mark`: no other statement writes them meanwhile), but for those it
 * writes already, the parked (`parking`) and the claimed (`locked`).
 */
export function fifoWaitedMarkCte(within: ClaimParts['within']): SQL {
  // Up to FIFO_LOOKAHEAD rows each side: `waited` by id in a JSON object (an IN here may become a
  // join, planned as a nested loop from the generic plan's guess of one row, as `waited` was), the
  // NOT INs hashed (never joins).
  return sql`marked as (
          update deliveries d set wakes_next = true
          where d.id = any(array(
                  select b.id from blockers_to_mark b
                  where (select jsonb_object_agg(w.id, true) from waited w) ? b.id
                    and b.id not in (select id from parking) and b.id not in (select id from locked)))
            and ${within('d.id')}
        )`;
}

/** A claimed row's `wakes_next` (its `set` item in the claim's `claimed`): marked if a row was parked behind it. */
export const claimedWakesNext = sql`wakes_next = d.wakes_next or d.id in (select id from waited)`;
