import type { Database, IdKind, Queryable } from '@herald/db';
import { executeRows, idTimeBound, idTimestamp, QUEUED_STATUSES_SQL } from '@herald/db';
import type { SQL } from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import { dayStart, listHistoryPartitions } from './partitions';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * The range of the partitioned history that can hold queued deliveries (pending or in
 * flight), and their events: ids from `floor` (null: from the start) up to `ceiling` (null:
 * no end). Claims name it in every `deliveries` and `events` reference, so the planner
 * leaves the finished days out. With 30 days of retention there are ~35 day partitions per
 * table, and planning a claim over all of them cost 22 ms of PostgreSQL CPU per batch of 32,
 * against 3.5 ms for the same statement planned once (measured side by side). The claim is
 * planned once per connection with the window's bounds written into its text, so pruning at
 * plan time leaves the finished days out of that one plan.
 *
 * It relies on ids being minted at their event's time (a delivery's id carries its event's
 * time), so one floor serves both tables, and on these rules:
 * - a dispatcher refreshes the floor every few seconds from what really is queued
 *   (`refreshQueueWindow`): the oldest day partition holding a queued delivery, and never
 *   later than an hour ago, so deliveries minted by API processes whose clocks run behind
 *   still fall inside;
 * - whatever queues a delivery of an older day (requeue, recover) lowers it in the same
 *   transaction (`lowerQueueWindow`), so it is claimable at once;
 * - the ceiling is the end of tomorrow, by the claiming process's clock, unless the default
 *   partition (ids outside every day) holds queued rows.
 * A delivery that slips below the floor some other way (a clock more than an hour behind)
 * waits for the next refresh, never longer.
 */
export interface QueueWindow {
  floor: Date | null;
  openEnded: boolean;
}

/** No bounds: every partition (before the first refresh, and for tools). */
export const WHOLE_HISTORY: QueueWindow = { floor: null, openEnded: true };

export async function readQueueWindow(db: Queryable): Promise<QueueWindow> {
  const [row] = await executeRows<{ floor_at: Date | string | null; open_ended: boolean }>(
    db,
    sql`select floor_at, open_ended from delivery_queue_window where id = 1`,
  );
  if (!row) return WHOLE_HISTORY;
  return { floor: row.floor_at === null ? null : new Date(row.floor_at), openEnded: row.open_ended };
}

/**
 * `column` (an id of `kind`) inside the window, as constants the planner prunes with.
 * `now` is the claiming process's clock (the ceiling follows it).
 */
export function inQueueWindow(
  column: SQL,
  kind: IdKind,
  window: QueueWindow,
  now = Date.now(),
  { literal = false } = {},
): SQL {
  const parts: SQL[] = [];
  const bound = (ms: number) => (literal ? idLiteral(idTimeBound(kind, ms)) : sql`${idTimeBound(kind, ms)}`);
  // In the text, the floor goes down to its hour: lower is always safe, and the text (one prepared
  // statement each) then changes at most hourly.
  if (window.floor)
    parts.push(sql`${column} >= ${bound(literal ? hourStart(window.floor.getTime()) : window.floor.getTime())}`);
  if (!window.openEnded) parts.push(sql`${column} < ${bound(dayStart(now) + 2 * DAY_MS)}`);
  return parts.length === 0 ? sql`true` : sql.join(parts, sql` and `);
}

const hourStart = (ms: number) => ms - (ms % HOUR_MS);

/**
 * What the text `inQueueWindow(…, { literal: true })` writes depends on, as a key: statements
 * built from it can be kept per key (`executeHotTemplate`). It changes when that text does.
 */
export function queueWindowTextKey(window: QueueWindow, now = Date.now()): string {
  const floor = window.floor ? String(hourStart(window.floor.getTime())) : '-';
  return `${floor}:${window.openEnded ? '-' : String(dayStart(now))}`;
}

/** What the text `inIdDays(…, fromMs, toMs)` writes depends on, as a key (as `queueWindowTextKey`). */
export function idDaysTextKey(fromMs: number, toMs: number): string {
  return `${dayStart(fromMs)}:${dayStart(toMs)}`;
}

/**
 * `column` (an id of `kind`) within the UTC days from `fromMs` to `toMs`, as constants in the
 * statement's text: a plan made without the statement's values still leaves the other day
 * partitions out, so PostgreSQL can plan it once per connection (see `plan_cache_mode` in
 * @herald/db's client.ts). The text changes only with the days, so each is one prepared statement;
 * postgres.js replaces a connection after 30–60 minutes (`max_lifetime`), so the texts of past
 * days do not pile up.
 */
export function inIdDays(column: SQL, kind: IdKind, fromMs: number, toMs: number): SQL {
  // An id's ten time characters hold 50 bits: past them a bound would wrap around (no such id is minted).
  if (!(fromMs >= 0 && toMs + DAY_MS < 2 ** 50)) return sql`true`;
  const from = idLiteral(idTimeBound(kind, dayStart(fromMs)));
  const to = idLiteral(idTimeBound(kind, dayStart(toMs) + DAY_MS));
  return sql`${column} >= ${from} and ${column} < ${to}`;
}

/** An id bound written into the statement's text (ids are letters, digits and `_` only). */
function idLiteral(bound: string): SQL {
  if (!/^[A-Za-z0-9_]+$/.test(bound)) throw new Error(`unexpected id bound ${JSON.stringify(bound)}`);
  return sql.raw(`'${bound}'`);
}

/**
 * Recomputes the window from the partitions: each day's partial queued index answers
 * "anything queued here?" with one probe. The row lock makes a concurrent `lowerQueueWindow`
 * wait for this transaction (and see its floor) or this one wait for it (and see its rows);
 * a dispatcher that finds another refreshing skips its turn.
 */
export async function refreshQueueWindow(db: Database, now = new Date()): Promise<QueueWindow | null> {
  return db.transaction(async (tx) => {
    const locked = await executeRows(tx, sql`select id from delivery_queue_window where id = 1 for update skip locked`);
    if (locked.length === 0) return null;
    const partitions = (await listHistoryPartitions(tx)).filter((p) => p.table === 'deliveries');
    if (partitions.length === 0) return WHOLE_HISTORY;
    const probes = partitions.map(
      (p) =>
        sql`select ${p.suffix}::text as suffix, exists (select 1 from ${sql.identifier(p.name)}
              where status ${sql.raw(QUEUED_STATUSES_SQL)}) as queued`,
    );
    const rows = await executeRows<{ suffix: string; queued: boolean }>(tx, sql.join(probes, sql` union all `));
    const queued = new Set(rows.filter((r) => r.queued).map((r) => r.suffix));
    let floorMs: number | null = now.getTime() - HOUR_MS;
    for (const p of partitions) {
      if (!queued.has(p.suffix) || p.suffix === 'default') continue;
      floorMs = p.from === null || floorMs === null ? null : Math.min(floorMs, p.from.getTime());
    }
    const window: QueueWindow = {
      floor: floorMs === null ? null : new Date(floorMs),
      openEnded: queued.has('default'),
    };
    await tx.execute(
      sql`update delivery_queue_window
          set floor_at = ${window.floor?.toISOString() ?? null}::timestamptz, open_ended = ${window.openEnded},
              refreshed_at = now()
          where id = 1`,
    );
    return window;
  });
}

/**
 * Call in the transaction that queues deliveries with these ids (requeue, recover): the
 * floor goes down to the oldest, and the window opens upwards until the next refresh (the
 * ids may lie in the default partition), so they are claimable at once.
 */
export async function lowerQueueWindow(tx: Queryable, deliveryIds: readonly string[]): Promise<void> {
  let oldest: number | null = null;
  for (const id of deliveryIds) {
    const at = idTimestamp(id)?.getTime() ?? 0; // an id without a time: no floor at all
    oldest = oldest === null ? at : Math.min(oldest, at);
  }
  if (oldest === null) return;
  await tx.execute(
    sql`update delivery_queue_window
        set floor_at = case when floor_at is null or ${oldest}::bigint = 0 then null
                            else least(floor_at, to_timestamp(${oldest}::bigint / 1000.0)) end,
            open_ended = true
        where id = 1`,
  );
}
