import type { Database } from '@herald/db';
import { executeRows } from '@herald/db';
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { briefLockWaits, isLockConflict } from './sql/lock-waits';
import { createPartition, missingPartitionsAhead } from './sql/partitions';
import { expirePayloads } from './sql/payload-expiry';
import {
  daysPastRetention,
  detachHistoryDayDeliveries,
  detachHistoryDayRest,
  dropDetachedHistory,
  queuedByHistoryDay,
  releaseDetachedHistory,
} from './sql/retention';

/** Tries of a step that locks whole history tables while writers hold them (each waits ≤ 200 ms per lock, then pauses). */
const DROP_TRIES = 10;

/** Arbitrary but fixed: every Herald process agrees on it ("HMNT"). */
export const MAINTENANCE_LOCK_KEY = 0x484d_4e54;

export interface MaintenanceOptions {
  /** History older than this is dropped, one whole day partition at a time. */
  retentionMs: number;
  /** Payloads and response excerpts of finished deliveries older than this are cleared (≤ retentionMs). */
  payloadRetentionMs?: number;
  /** Day partitions created ahead of today. */
  partitionsAheadDays: number;
  /** The clock (tests age data by moving it forward). */
  now?: Date;
  logger?: Logger;
}

export interface MaintenanceReport {
  /** False when another process holds the maintenance lock: it does the work. */
  ran: boolean;
  created: string[];
  /** Day suffixes dropped (`p20261203`, `legacy`). */
  dropped: string[];
  /** Days past retention kept because deliveries in them are still pending or in flight. */
  kept: Array<{ day: string; queued: number }>;
  /** Days past retention left to the next run: writers kept their tables busy through every try. */
  deferred: string[];
  /** The partitions ahead were left to the next run for the same reason (they are made days ahead). */
  partitionsDeferred: boolean;
  /** Days the default partition holds rows of, so their partition cannot be created. */
  blockedByDefault: string[];
  /** Events whose payload, and attempts whose response excerpt, were cleared by payload retention. */
  expiredPayloads: { events: number; attempts: number };
}

/**
 * Creates day partitions ahead, drops the days past retention and clears payloads past payload
 * retention. One process at a time: each
 * step runs in its own short transaction under `pg_try_advisory_xact_lock`, and the run stops
 * (`ran: false`) as soon as another process holds it. Transaction-scoped, so the lock never
 * outlives a pooled connection's transaction.
 */
export async function runMaintenance(db: Database, options: MaintenanceOptions): Promise<MaintenanceReport> {
  const now = options.now ?? new Date();
  const report: MaintenanceReport = {
    ran: false,
    created: [],
    dropped: [],
    kept: [],
    deferred: [],
    partitionsDeferred: false,
    blockedByDefault: [],
    expiredPayloads: { events: 0, attempts: 0 },
  };
  const locked = async <T>(step: (tx: Database) => Promise<T>): Promise<T | null> =>
    db.transaction(async (tx) => {
      const [row] = await executeRows<{ ok: boolean }>(
        tx,
        sql`select pg_try_advisory_xact_lock(${MAINTENANCE_LOCK_KEY}) as ok`,
      );
      if (!row?.ok) return null;
      return step(tx as unknown as Database);
    });

  // Creating a partition locks its parent like a drop does: one partition per transaction, each
  // lock waited for briefly, giving way to writers (see sql/lock-waits.ts).
  const missing = await locked((tx) => missingPartitionsAhead(tx, { now, daysAhead: options.partitionsAheadDays }));
  if (!missing) return report;
  report.ran = true;
  for (const partition of missing) {
    const created = await givingWay(() =>
      locked(async (tx) => {
        await briefLockWaits(tx);
        return createPartition(tx, partition);
      }),
    );
    if (created === null) return report;
    if (created === 'busy') report.partitionsDeferred = true;
    else if (created) report.created.push(partition.name);
    else report.blockedByDefault.push(partition.name);
  }
  if (report.partitionsDeferred) {
    options.logger?.warn(
      'history partitions ahead not all created: their tables stayed busy; the next run tries again',
    );
  }

  const cutoff = new Date(now.getTime() - options.retentionMs);
  const past = await daysPastRetention(db, cutoff);
  // Which days queued deliveries keep, without locking the tables; then each day's two short detaches.
  const keeping = await locked((tx) => queuedByHistoryDay(tx, past));
  if (!keeping) return report;
  for (const day of past) {
    const queued = keeping.get(day.suffix) ?? 0;
    if (queued > 0) {
      report.kept.push({ day: day.suffix, queued });
      continue;
    }
    const outcome = await givingWay(() => locked((tx) => detachHistoryDayDeliveries(tx, day)));
    if (outcome === null) break;
    if (outcome === 'busy') {
      report.deferred.push(day.suffix);
      continue;
    }
    if (!outcome.dropped) {
      report.kept.push({ day: day.suffix, queued: outcome.queued });
      continue;
    }
    const rest = await givingWay(() => locked((tx) => detachHistoryDayRest(tx, day).then(() => true)));
    if (rest === null) break;
    if (rest === 'busy') {
      report.deferred.push(day.suffix);
      continue;
    }
    report.dropped.push(day.suffix);
  }
  // The detached days' files go last, in one drop that locks only them (and what a run that died
  // left detached): the dispatchers' tables are not held while the files are unlinked.
  // Busy: the next run drops them.
  const released = await givingWay(() => locked((tx) => releaseDetachedHistory(tx).then(() => true)));
  if (released === true) await givingWay(() => locked((tx) => dropDetachedHistory(tx)));

  if (options.payloadRetentionMs !== undefined) {
    const payloadCutoff = new Date(now.getTime() - options.payloadRetentionMs);
    const expired = await locked((tx) => expirePayloads(tx, payloadCutoff));
    if (expired) report.expiredPayloads = expired;
  }

  const log = options.logger;
  if (report.created.length || report.dropped.length || report.expiredPayloads.events) {
    const { created, dropped, expiredPayloads } = report;
    log?.info({ created, dropped, expiredPayloads }, 'history maintained');
  }
  for (const kept of report.kept) {
    log?.warn(
      { day: kept.day, queued: kept.queued },
      'history past retention kept: deliveries in it are still pending or in flight',
    );
  }
  if (report.deferred.length) {
    log?.warn({ days: report.deferred }, 'history past retention left for the next run: its tables stayed busy');
  }
  if (report.blockedByDefault.length) {
    log?.warn(
      { partitions: report.blockedByDefault },
      'default history partition holds rows of a day: that day partition was not created',
    );
  }
  return report;
}

/** Runs `drop`, and again after a pause while it loses a lock conflict to writers; 'busy' after the last try. */
async function givingWay<T>(drop: () => Promise<T>): Promise<T | 'busy'> {
  for (let i = 1; i <= DROP_TRIES; i++) {
    try {
      return await drop();
    } catch (error) {
      if (!isLockConflict(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20 * i));
    }
  }
  return 'busy';
}
