import type { Database, Queryable } from '@herald/db';
import { executeRows, QUEUED_STATUSES_SQL } from '@herald/db';
import { sql } from 'drizzle-orm';
import { isParked, isUnattempted, previousQueuedRow } from './due';
import type { QueueWindow } from './queue-window';
import { inQueueWindow } from './queue-window';

/** Most rows one run parks (the rest wait for the next run, 5 s later). */
const PARK_LIMIT = 20_000;

/**
 * pending, due → pending, due at its subject's head's retry: the later deliveries of a FIFO
 * subject whose earliest queued delivery waits for a retry (a receiver that is down).
 *
 * Those rows cannot be sent before the head is, yet they are due, so every claim, whatever its
 * tenant, probed each of them for an earlier row of its subject (about 8 µs a row: 98 ms per
 * claim behind a backlog of 12,000, for as long as the receiver stays down). Parked, they are
 * due again when the head is (the claim's FIFO check still orders them then), and no claim
 * reads them in between. Claims park such rows too when FIFO_LOOKAHEAD of them wait in front
 * (claim.ts), for one lease at most; this run parks a whole backlog at once, as long as the head waits.
 *
 * Only rows with no attempt since they were queued (`attempt_count = schedule_offset`) are
 * parked, and those are the only pending rows with a future due time that are not waiting for
 * a retry of their own: `wakeParkedOfEndpoint` can tell them apart. A head sent earlier than its
 * retry (a manual retry) promotes the next when it ends (fifo-promote.ts: it is marked
 * `wakes_next` here), and that one the next. The head is locked, skipping one a retry is
 * changing, so a retry committed meanwhile is never undone by a park planned before it.
 *
 * Run by the dispatcher that refreshes the queue window (every 5 s, one at a time); returns
 * how many rows it parked.
 */
export async function parkBlockedFifoFollowers(db: Database, window: QueueWindow, now = Date.now()): Promise<number> {
  const within = (column: string) => inQueueWindow(sql.raw(column), 'delivery', window, now, { literal: true });
  const queued = (alias: string) => sql.raw(`${alias}.status ${QUEUED_STATUSES_SQL}`);
  // From the heads: deliveries of FIFO endpoints waiting for their own retry (attempted since they
  // were queued) that are the first queued of their subject. A healthy FIFO backlog has none, so
  // this costs it nothing; each head's due followers are then found by the endpoint's due index.
  const blocked = await executeRows<{ id: string; head_id: string }>(
    db,
    sql`select f.id, h.id as head_id
        from endpoints e
        cross join lateral (
          select h.id, h.endpoint_id, h.subject, h.sequence from deliveries h
          where h.endpoint_id = e.id and ${queued('h')} and h.next_attempt_at > now() and ${within('h.id')}
            and h.status = 'pending' and h.attempt_count > h.schedule_offset and h.subject is not null
          limit ${PARK_LIMIT}
        ) h
        cross join lateral (
          select f.id from deliveries f
          where f.endpoint_id = h.endpoint_id and ${queued('f')} and f.next_attempt_at <= now() and ${within('f.id')}
            and f.subject = h.subject and f.sequence > h.sequence and ${isUnattempted('f')}
          limit ${PARK_LIMIT}
        ) f
        where e.ordering = 'fifo' and e.kind <> 'listen'
          and not exists (
            select 1 from deliveries p
            where p.endpoint_id = h.endpoint_id and p.subject = h.subject and p.sequence < h.sequence
              and ${queued('p')} and ${within('p.id')})
        limit ${PARK_LIMIT}`,
  );
  if (blocked.length === 0) return 0;
  const pairs = JSON.stringify(blocked);
  const parked = await executeRows<{ id: string; parkable: boolean }>(
    db,
    sql`with pairs as (
          select p.id, p.head_id from jsonb_to_recordset(${pairs}::jsonb) as p(id text, head_id text)
        ),
        heads as (
          select h.id, h.next_attempt_at, h.wakes_next from deliveries h
          where h.id = any(array(select distinct head_id from pairs)) and ${within('h.id')}
            and h.status = 'pending' and h.next_attempt_at > now()
          for no key update skip locked
        ),
        locked as (
          select d.id, d.endpoint_id, d.subject, d.sequence, heads.next_attempt_at as until
          from deliveries d join pairs p on p.id = d.id join heads on heads.id = p.head_id
          where d.id = any(array(select id from pairs)) and ${within('d.id')}
            and ${isUnattempted('d')} and d.next_attempt_at <= now()
          for update of d skip locked
        ),
        -- The row each waits for (the one before it in its subject), marked \`wakes_next\` as a claim
        -- marks what it parks behind: a head, a row parked here, or another one (a claim parked it,
        -- or it could not be locked here), locked to be marked. A row whose predecessor could not be
        -- locked is not parked: that one's end would promote nothing, and it would wait for the
        -- head's retry (hours) rather than a lease.
        preds as (
          select l.id, pr.id as pred from locked l
          cross join lateral (${previousQueuedRow('l', 'p.id', (a) => sql`${queued(a)} and ${within(`${a}.id`)}`)}) pr
        ),
        others as (
          select d.id from deliveries d
          where d.id = any(array(select pred from preds
                                 where pred not in (select id from locked) and pred not in (select id from heads)))
            and ${within('d.id')} and d.status = 'pending'
          for no key update skip locked
        ),
        targets as (
          select l.id, l.until,
                 (pr.pred in (select id from heads) or pr.pred in (select id from locked)
                  or pr.pred in (select id from others)) as parkable
          from locked l join preds pr on pr.id = l.id
          union all
          select o.id, null, false from others o
        ),
        -- Sent before its retry (a manual retry), a head ends before the rows parked until its
        -- retry are due: it promotes its subject's next then (fifo-promote.ts).
        marked as (
          update deliveries h set wakes_next = true
          where h.id = any(array(select heads.id from heads where not heads.wakes_next)) and ${within('h.id')}
        )
        -- Each parked row wakes the one after it when it ends, and so does each predecessor marked.
        update deliveries t
        set next_attempt_at = case when x.parkable then x.until else t.next_attempt_at end,
            updated_at = case when x.parkable then now() else t.updated_at end,
            wakes_next = true
        from targets x
        where t.id = x.id and ${within('t.id')} and (x.until is not null or not t.wakes_next)
        returning t.id, x.parkable`,
  );
  return parked.filter((r) => r.parkable).length;
}

/**
 * Makes every parked delivery of an endpoint due now: it stopped being FIFO, so nothing holds
 * them back any more (they would wait for the retry time they were parked until).
 */
export async function wakeParkedOfEndpoint(db: Queryable, endpointId: string): Promise<void> {
  await db.execute(sql`update deliveries q set next_attempt_at = now(), updated_at = now()
    where q.endpoint_id = ${endpointId} and q.subject is not null
      and ${isParked('q')}`);
}
