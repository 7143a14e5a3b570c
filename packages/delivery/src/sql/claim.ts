import type { Database, TemplateValue } from '@herald/db';
import { executeHotTemplate } from '@herald/db';
import type { SQL } from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import type { ClaimedDelivery, ClaimRow } from './claimed-row';
import { claimedColumns, claimedEndpointsCte, leaseToken, toClaimedDeliveries } from './claimed-row';

export type { ClaimedDelivery } from './claimed-row';

import type { ClaimParts } from './claim-fifo';
import { claimedWakesNext, FIFO_LOOKAHEAD, fifoHoldOf, fifoParkingCtes, fifoWaitedMarkCte } from './claim-fifo';
import { isDue, isQueuedRow } from './due';
import type { QueueWindow } from './queue-window';
import { inQueueWindow, queueWindowTextKey, readQueueWindow, WHOLE_HISTORY } from './queue-window';

/** A budget that limits nothing (an endpoint without a rate limit). */
const UNLIMITED = 1_000_000_000;

/** How many slots an endpoint and a project may hold; see `claimDueDeliveries`. */
export interface ClaimLimits {
  /** Requests in flight to one slow endpoint (answers slower than `slowAfterMs`), across dispatchers. */
  slowEndpointMaxInFlight: number;
  /** Requests in flight to one endpoint that answers fast, across dispatchers (deliveries in flight, answered ones whose outcome is being written included). */
  fastEndpointMaxInFlight: number;
  slowAfterMs: number;
  /** An endpoint with this many timeouts in a row gets one slot. */
  timeoutsForOneSlot: number;
  /** Most of this dispatcher's slots one project may hold while other projects have due work. */
  projectShare: number;
  /** Most it may hold while no other project has due work (the rest stays free for newcomers). */
  projectSolo: number;
  /** This dispatcher's deliveries in flight, by project id. */
  inFlightByProject: ReadonlyMap<string, number>;
  /**
   * A project's first deliveries up to this many held (a newcomer's) may take the room kept for
   * newcomers; the others only `ClaimOptions.beyondRoom` in all (see send-slots.ts).
   */
  newcomerQuota?: number;
}

/** Claiming without fairness caps (tools and tests that claim by hand). */
const NO_LIMITS: ClaimLimits = {
  slowEndpointMaxInFlight: 1_000_000,
  fastEndpointMaxInFlight: 1_000_000,
  slowAfterMs: 1_000_000,
  timeoutsForOneSlot: 1_000_000,
  projectShare: 1_000_000,
  projectSolo: 1_000_000,
  inFlightByProject: new Map(),
};

/**
 * pending → in_flight: takes up to `limit` due deliveries for this worker,
 * fairly, with everything needed to send them, in one statement.
 *
 * Fairness: the claim visits every endpoint with queued work (a skip scan of
 * `deliveries_queued_endpoint_idx`), takes at most that endpoint's free slots
 * (its cap minus what all dispatchers have in flight to it: slow or timing
 * out endpoints get few), then holds each project to its share of this
 * dispatcher's slots, oldest deliveries first. A tenant's backlog or its
 * hanging endpoints therefore never hold every slot.
 *
 * Flow control, in the same statement: an endpoint with a rate limit gets no
 * more than the whole tokens in its bucket (kept on the endpoint row, so all
 * dispatchers share it; a throttled endpoint is simply left until the next
 * poll or wakeup, never polled for). A FIFO endpoint gets a subject's delivery
 * only when no earlier delivery of that subject is still queued (pending, in
 * flight, or waiting for its retry): one at a time per subject, in sequence
 * order, while its other subjects go on.
 *
 * SKIP LOCKED lets many dispatchers claim side by side without waiting on or
 * double-taking each other's rows; the lease (`next_attempt_at` in the future
 * while in flight) makes a dead worker's deliveries due again once it expires.
 */
export async function claimDueDeliveries(db: Database, options: ClaimOptions): Promise<ClaimedDelivery[]> {
  return (await claimDue(db, options)).deliveries;
}

export interface ClaimResult {
  deliveries: ClaimedDelivery[];
  /**
   * FIFO rows this claim parked (claim.ts, fifo-promote.ts). More due rows may wait behind them
   * (a claim reads a bounded number per endpoint), so a claimer that got fewer rows than it
   * asked for claims again at once rather than waiting for a wakeup that may never come.
   */
  parked: number;
}

/** `claimDueDeliveries`, and how many rows it parked. */
export async function claimDue(db: Database, options: ClaimOptions): Promise<ClaimResult> {
  const window = options.window ?? (await readQueueWindow(db));
  const now = Date.now();
  // Planned once per connection (`generic`): planning this statement cost three times running it.
  // The window's bounds are written into its text (see claimTemplate), so that one plan leaves
  // the finished days out; the text changes when the window does (at most hourly), and is built
  // once per window: building it with drizzle at every claim was 2 % of the dispatcher's CPU.
  const rows = await executeHotTemplate<ClaimRow>(
    db,
    `claim:${queueWindowTextKey(window, now)}`,
    (value) => claimTemplate(value, window, now),
    claimValues(options),
    'generic',
  );
  const parked = Number(rows[0]?.parked_count ?? 0);
  return { deliveries: toClaimedDeliveries(rows.filter((row) => row.id !== null)), parked };
}

export interface ClaimOptions {
  limit: number;
  leaseMs: number;
  owner: string;
  limits?: ClaimLimits;
  /** Where queued deliveries can be (`sql/queue-window.ts`); read from the database when not given. */
  window?: QueueWindow;
  /**
   * Slots free now, when `limit` also counts deliveries that will wait for a slot (the
   * dispatcher's prefetch): an endpoint with a rate limit gets no more than these, so the tokens a
   * claim spends are sent at once, not bunched with the next second's.
   */
  freeNow?: number;
  /**
   * Rows the claim may take beyond the projects' newcomer quotas, all projects together: the room
   * left minus what stays for newcomers. Unlimited when not given.
   */
  beyondRoom?: number;
}

/** The claim as one statement with its values (exported for EXPLAIN in benchmarks and tests). */
export function claimStatement(options: ClaimOptions): SQL {
  const values = claimValues(options);
  return claimTemplate((name) => sql`${values[name]}`, options.window ?? WHOLE_HISTORY, Date.now());
}

/** The claim's values, by the names `claimTemplate` gives them. */
function claimValues(options: ClaimOptions): Record<string, unknown> {
  const l = options.limits ?? NO_LIMITS;
  return {
    inFlight: JSON.stringify(Object.fromEntries(l.inFlightByProject)),
    // Projects holding at least their share of this dispatcher's slots (see `others` below).
    saturated: JSON.stringify(
      [...l.inFlightByProject].filter(([, n]) => n >= l.projectShare).map(([project]) => project),
    ),
    timeoutsForOneSlot: l.timeoutsForOneSlot,
    slowAfterMs: l.slowAfterMs,
    slowEndpointMaxInFlight: l.slowEndpointMaxInFlight,
    fastEndpointMaxInFlight: l.fastEndpointMaxInFlight,
    freeNow: options.freeNow ?? UNLIMITED,
    projectShare: l.projectShare,
    projectSolo: l.projectSolo,
    newcomerQuota: l.newcomerQuota ?? UNLIMITED,
    beyondRoom: options.beyondRoom ?? UNLIMITED,
    limit: options.limit,
    leaseMs: options.leaseMs,
    owner: options.owner,
  };
}

/**
 * The claim's text: every value through `v` (a placeholder while a template is built), the
 * queue window `w` written in as constants.
 */
function claimTemplate(v: TemplateValue, w: QueueWindow, now: number): SQL {
  const isSaturated = (projectId: SQL) => sql`${v('saturated')}::jsonb @> to_jsonb(${projectId})`;
  // Every reference names the window, as constants in the text: the statement is planned once per
  // connection (see claimDueDeliveries), and with the bounds in its text that plan leaves the
  // finished days out and is costed from the queued days' statistics. As parameters, the generic
  // plan guessed the id range to be selective and walked the primary key instead of the queued
  // indexes (7 ms instead of 1.2 ms per claim).
  const within = (column: string, kind: 'delivery' | 'event' = 'delivery') =>
    inQueueWindow(sql.raw(column), kind, w, now, { literal: true });
  const queuedRow = (alias: string) => sql`${isQueuedRow(alias)} and ${within(`${alias}.id`)}`;
  const dueRow = (alias: string) => sql`${isDue(alias)} and ${within(`${alias}.id`)}`;
  const parts: ClaimParts = { within, queuedRow, dueRow };
  const fifoHold = (r: string) => fifoHoldOf(r, parts);
  // The walk reads each endpoint's first queued row in the (endpoint, next attempt) index: its
  // earliest time. Only endpoints whose earliest row is due go on to the budget and candidate
  // steps, which cost several lookups each: a tenant with 30,000 endpoints each waiting for a
  // retry an hour away made every claim take 0.5 s, and every tenant's webhooks that late.
  return sql`with recursive walk(endpoint_id, first_at) as (
          (select q.endpoint_id, q.next_attempt_at from deliveries q where ${queuedRow('q')}
           order by q.endpoint_id, q.next_attempt_at limit 1)
          union all
          select n.endpoint_id, n.next_attempt_at from walk cross join lateral (
            select q.endpoint_id, q.next_attempt_at from deliveries q
            where ${queuedRow('q')} and q.endpoint_id > walk.endpoint_id
            order by q.endpoint_id, q.next_attempt_at limit 1) n
        ),
        active as (select endpoint_id from walk where first_at <= now()),
        -- Endpoints with a rate limit: their token bucket (capacity: one second of
        -- deliveries) refilled to now. Locked, so dispatchers claiming side by side
        -- never spend one token twice; one held by another claim is skipped this time.
        rated as (
          select ep.id as endpoint_id,
                 least(ep.rate_limit::float8,
                       coalesce(ep.rate_tokens, ep.rate_limit::float8)
                       + ep.rate_limit * extract(epoch from now() - coalesce(ep.rate_refilled_at, now()))) as tokens
          from endpoints ep
          where ep.id in (select endpoint_id from active) and ep.rate_limit is not null
          for update skip locked
        ),
        -- Projects already at their share of this dispatcher's slots take nothing while another
        -- project has queued work: their endpoints are not counted or scanned (a tenant with
        -- hundreds of hanging endpoints would otherwise make every claim visit each of them).
        others as (
          select exists (select 1 from active a join endpoints e on e.id = a.endpoint_id
                         where not ${isSaturated(sql.raw('e.project_id'))}) as present
        ),
        budget as (
          select ep.id as endpoint_id, ep.project_id, ep.ordering = 'fifo' as fifo, rest.resting,
                 -- kind 'listen' (herald listen): the API streams these to the CLI (claim-relay.ts), no dispatcher.
                 case when ep.kind = 'listen' or rest.resting then 0 else
                 least(
                   coalesce(ep.max_in_flight,
                            case when ep.timeouts_in_row >= ${v('timeoutsForOneSlot')}::int then 1
                                 -- Not answered yet (a new endpoint): slow until its first answer says
                                 -- otherwise. Counted as fast, a new endpoint that hangs took its
                                 -- project's every slot for a whole timeout.
                                 when ep.latency_ms is null or ep.latency_ms > ${v('slowAfterMs')}::int
                                   then ${v('slowEndpointMaxInFlight')}::int
                                 else ${v('fastEndpointMaxInFlight')}::int end)
                   - (select count(*) from deliveries f
                      where f.endpoint_id = ep.id and f.status = 'in_flight' and f.next_attempt_at > now()
                        and ${within('f.id')}),
                   -- Spent tokens are sends due now: no more than the slots free now (see ClaimOptions.freeNow).
                   case when ep.rate_limit is null then ${UNLIMITED}::int
                        else least(floor(coalesce(rated.tokens, 0))::int, ${v('freeNow')}::int) end) end as free
          from active join endpoints ep on ep.id = active.endpoint_id
          cross join lateral (select ${isSaturated(sql.raw('ep.project_id'))} and (select present from others) as resting) rest
          left join rated on rated.endpoint_id = ep.id
        ),
        -- Each active endpoint's first due rows, oldest first, as many as it may take. A FIFO
        -- endpoint's rows that must wait (\`fifoHold\`) are passed over, up to FIFO_LOOKAHEAD of them:
        -- a claim never reads more than its rows plus that many per FIFO endpoint. Before, it read
        -- on until it had its rows, so a subject's backlog behind a delivery in flight (or waiting
        -- for its retry) cost every claim, whatever its tenant, a probe per row (about 8 µs: 0.3–1.2 s
        -- per claim behind 95,000) for as long as it lasted. Rows past the lookahead are reached
        -- once the ones in front are parked (\`parked\` below).
        candidates as (
          select x.id, x.project_id, x.endpoint_id, x.next_attempt_at
          from budget cross join lateral (
            select r.id, r.project_id, r.endpoint_id, r.next_attempt_at from (
              select d.id, d.project_id, d.endpoint_id, d.next_attempt_at, d.subject, d.sequence from deliveries d
              where d.endpoint_id = budget.endpoint_id and ${dueRow('d')}
              order by d.next_attempt_at
              limit case when budget.free <= 0 then 0
                         when budget.fifo then least(budget.free, ${v('limit')}::int) + ${sql.raw(String(FIFO_LOOKAHEAD))}
                         else least(budget.free, ${v('limit')}::int) end
            ) r
            where not budget.fifo or ${fifoHold('r')} = 0
            -- No endpoint gives more than the claim takes: a row behind \`limit\` earlier ones of its
            -- own endpoint (so of its project, ranked before it) is never among the \`limit\` taken.
            limit least(greatest(budget.free, 0), ${v('limit')}::int)
          ) x
        ),
        ${fifoParkingCtes(v, parts)},
        -- A resting project still counts as one that has due work (the others' share stays a share).
        contending as (
          select project_id from candidates union select project_id from beyond
          union
          select b.project_id from budget b
          where b.resting and exists (select 1 from deliveries d where d.endpoint_id = b.endpoint_id and ${dueRow('d')})
        ),
        ranked as (
          select id, project_id, next_attempt_at,
                 row_number() over (partition by project_id order by next_attempt_at) as rank_in_project
          from (select id, project_id, next_attempt_at from candidates
                union all select id, project_id, next_attempt_at from beyond) c
        ),
        capped as (
          select r.id, r.next_attempt_at,
                 -- Within the project's newcomer quota: may take the room kept for newcomers.
                 r.rank_in_project <= ${v('newcomerQuota')}::int
                   - coalesce((${v('inFlight')}::jsonb ->> r.project_id)::int, 0) as in_quota
          from ranked r
          where r.rank_in_project
                <= (case when (select count(*) from contending) > 1 then ${v('projectShare')}::int
                         else ${v('projectSolo')}::int end)
                   - coalesce((${v('inFlight')}::jsonb ->> r.project_id)::int, 0)
        ),
        -- The rows beyond the quotas share \`beyondRoom\`, oldest first: however many projects hang
        -- their endpoints, the room kept for newcomers stays theirs.
        due as (
          select b.id from (
            select c.id, c.next_attempt_at, c.in_quota,
                   count(*) filter (where not c.in_quota) over (order by c.next_attempt_at, c.id) as beyond_rank
            from capped c
          ) b
          where b.in_quota or b.beyond_rank <= ${v('beyondRoom')}::int
          order by b.next_attempt_at
          limit ${v('limit')}::int
        ),
        -- Row counts below are planned from guesses (each endpoint's free slots are only known
        -- while running), so every step from here on is written as id lookups: a join the
        -- planner may hash made it read a whole day partition per claim once the statistics
        -- were fresh (53 ms per claim at 9,000 rows, growing with the day).
        locked as (
          select d.id from deliveries d
          where d.id = any(array(select id from due)) and ${dueRow('d')}
          for update skip locked
        ),
        -- Committed without waiting for the WAL flush (synchronous_commit off for this statement's
        -- transaction only): a claim lost in a crash of PostgreSQL leaves its deliveries pending,
        -- which is what its expired lease would do anyway (sent again; at-least-once either way),
        -- and the finish that follows is a durable commit that flushes the claim with it. A claim
        -- no longer waits for a disk flush, so the sender is not starved while the disk is slow.
        claimed as (
          update deliveries d
          set status = 'in_flight',
              next_attempt_at = now() + ${v('leaseMs')} * interval '1 millisecond',
              lease_owner = ${v('owner')},
              updated_at = now(),
              ${claimedWakesNext}
          where d.id = any(array(select id from locked)) and ${within('d.id')}
            and (select set_config('synchronous_commit', 'off', true)) = 'off'
          returning d.id, d.project_id, d.endpoint_id, d.event_id, d.attempt_count, d.schedule_offset,
                    d.wakes_next, ${leaseToken('d.next_attempt_at')} as lease
        ),
        ${fifoWaitedMarkCte(within)},
        spent as (
          update endpoints ep
          set rate_tokens = rated.tokens - taken.n, rate_refilled_at = now()
          from rated join (select endpoint_id, count(*)::int as n from claimed group by endpoint_id) taken
               on taken.endpoint_id = rated.endpoint_id
          where ep.id = rated.endpoint_id
          returning ep.id
        ),
        ${claimedEndpointsCte}
        -- One row at least, with how many rows this claim parked: a claim that parked some has
        -- more to look at behind them, even if it took nothing (see ClaimResult.parked).
        select x.*, (select count(*)::int from parked) as parked_count
        from (select 1) one
        left join lateral (
          select ${claimedColumns}
          from claimed c
          left join lateral (select * from events e
                             where e.id = c.event_id and ${within('e.id', 'event')}) e on true
          join claimed_endpoints ep on ep.id = c.endpoint_id
        ) x on true`;
}
