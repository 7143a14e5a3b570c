import type { Database, SecretBox } from '@herald/db';
import { executeRows, isDatabaseUnavailable, markWritingNoEvents } from '@herald/db';
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import {
  ABANDONED_LISTEN_BATCH,
  failAbandonedListenBatch,
  IDLE_LISTEN_ENDPOINTS_PER_RUN,
  idleListenEndpoint,
  idleListenEndpoints,
} from './sql/abandoned-listen';
import { compactHistoryTable, tablesToCompact } from './sql/compaction';
import { deleteEndpointWithHistory } from './sql/delete-endpoint';
import type { PurgedRecords } from './sql/expired-records';
import { expiredRecordKinds, PURGE_BATCH, purgeExpiredBatch } from './sql/expired-records';
import { briefLockWaits, isLockConflict } from './sql/lock-waits';
import { createPartition, missingPartitionsAhead } from './sql/partitions';
import { expirePayloadsBatch } from './sql/payload-expiry';
import {
  daysPastRetention,
  detachedHistory,
  detachHistoryDaysDeliveries,
  detachHistoryDaysRest,
  dropDetachedTables,
  queuedByHistoryDay,
  releaseDetachedHistory,
} from './sql/retention';
import { sealSecretsBatch } from './sql/seal-secrets';

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
  /**
   * Days past payload retention whose tables are rewritten per run, once each, to give back the
   * space their cleared payloads held (default 1: one day a day in steady state).
   */
  compactDaysPerRun?: number;
  /**
   * Larger tables are not rewritten (default 128 MiB): readers of every day wait while one is
   * (see `compactHistoryTable`), and their cleared payloads stay until retention drops the day.
   */
  compactMaxTableBytes?: number;
  /** The pause after dropping a day's tables, as a share of the time the drop took (default 0.1). */
  dropPauseRatio?: number;
  /**
   * With a key (`SecretBox.sealing`): endpoint signing secrets stored in clear, or sealed under a
   * key a rotation replaced, are sealed under it.
   */
  secrets?: SecretBox;
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
  /** Events whose payload, and attempts whose response excerpt, were cleared by payload retention. */
  expiredPayloads: { events: number; attempts: number };
  /** History tables of days past payload retention rewritten without the space of their cleared payloads. */
  compacted: string[];
  /**
   * The table whose compaction was left to the next run (and the rest of the run's with it): a
   * transaction open since before its payloads were cleared could still read them.
   */
  compactionHeld: string[];
  /** Expired short-lived records deleted (`sql/expired-records.ts`): idempotency keys, login throttles, portal links and sessions. */
  purged: PurgedRecords;
  /** `herald listen` deliveries no stream took within a day, failed unsent (`sql/abandoned-listen.ts`). */
  abandonedListen: number;
  /** `herald listen` endpoints no stream held for a day, deleted with their deliveries (`sql/abandoned-listen.ts`). */
  abandonedListenEndpoints: number;
  /**
   * Endpoint signing secrets sealed under the current key by this run, and those left as they are:
   * sealed under a key this process does not hold (see `MaintenanceOptions.secrets`).
   */
  secrets: { sealed: number; unreadable: number };
  /** Wall time of each step, ms: partitions ahead, finding and detaching the days, dropping their tables (pauses included), payload expiry, compaction, purging expired records, sealing secrets, deleting abandoned `herald listen` endpoints. */
  stepMs: {
    partitions: number;
    detach: number;
    drop: number;
    payloads: number;
    compact: number;
    purge: number;
    seal: number;
    listen: number;
  };
}

/**
 * Creates day partitions ahead, drops the days past retention, clears payloads past payload
 * retention and rewrites the days whose payloads are all cleared (`sql/compaction.ts`), so the
 * space comes back before the day is dropped. One process at a time: each
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
    expiredPayloads: { events: 0, attempts: 0 },
    compacted: [],
    compactionHeld: [],
    purged: { idempotencyKeys: 0, loginThrottles: 0, portalLinks: 0, portalSessions: 0 },
    abandonedListen: 0,
    abandonedListenEndpoints: 0,
    secrets: { sealed: 0, unreadable: 0 },
    stepMs: { partitions: 0, detach: 0, drop: 0, payloads: 0, compact: 0, purge: 0, seal: 0, listen: 0 },
  };
  let stepStarted = performance.now();
  const stepDone = (step: keyof MaintenanceReport['stepMs']) => {
    const now = performance.now();
    report.stepMs[step] = Math.round(now - stepStarted);
    stepStarted = now;
  };
  // Marked as writing no events, before any write: every project's event feed waits for each
  // running transaction that may still insert events, and a step of a large run takes seconds.
  const locked = async <T>(step: (tx: Database) => Promise<T>): Promise<T | null> =>
    db.transaction(async (tx) => {
      const [row] = await executeRows<{ ok: boolean }>(
        tx,
        sql`select pg_try_advisory_xact_lock(${MAINTENANCE_LOCK_KEY}) as ok, ${markWritingNoEvents()} is null as marked`,
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
        await createPartition(tx, partition);
        return true;
      }),
    );
    if (created === null) return report;
    if (created === 'busy') report.partitionsDeferred = true;
    else report.created.push(partition.name);
  }
  if (report.partitionsDeferred) {
    options.logger?.warn(
      'history partitions ahead not all created: their tables stayed busy; the next run tries again',
    );
  }

  stepDone('partitions');
  // Early, before the steps that may give way or fail: a rotation of the key waits for it.
  if (options.secrets?.sealing) {
    const box = options.secrets;
    for (let after: string | null = ''; after !== null; ) {
      const from: string = after;
      const batch = await locked((tx) => sealSecretsBatch(tx, box, from));
      if (batch === null) break;
      report.secrets.sealed += batch.sealed;
      report.secrets.unreadable += batch.unreadable;
      after = batch.lastId;
    }
  }
  stepDone('seal');
  // Before retention looks for queued deliveries: an abandoned listen endpoint's kept its day for ever.
  // Endpoints a killed CLI left behind go first, with their deliveries (each event still made one).
  const idle = await locked((tx) => idleListenEndpoints(tx, now, IDLE_LISTEN_ENDPOINTS_PER_RUN));
  if (idle === null) return report;
  for (const endpoint of idle) {
    try {
      // Still idle when its row goes: a CLI may have come back since the list was read.
      const gone = await deleteEndpointWithHistory(db, endpoint.projectId, endpoint.id, idleListenEndpoint(now));
      if (gone) report.abandonedListenEndpoints++;
    } catch (error) {
      if (isDatabaseUnavailable(error)) throw error;
      // One endpoint's failure (a lock that would not come) leaves it to the next run, not the rest.
      options.logger?.warn({ err: error, endpointId: endpoint.id }, 'abandoned herald listen endpoint not deleted');
    }
  }
  for (;;) {
    const failed = await locked((tx) => failAbandonedListenBatch(tx, now));
    if (failed === null) return report;
    report.abandonedListen += failed;
    if (failed < ABANDONED_LISTEN_BATCH) break;
  }
  stepDone('listen');
  const cutoff = new Date(now.getTime() - options.retentionMs);
  const past = await daysPastRetention(db, cutoff);
  // Which days queued deliveries keep, without locking the tables; then two short detaches for all
  // the other days (one lock of each table per run, not per day: see detachHistoryDaysDeliveries).
  const keeping = await locked((tx) => queuedByHistoryDay(tx, past));
  if (!keeping) return report;
  const candidates: typeof past = [];
  for (const day of past) {
    const queued = keeping.get(day.suffix) ?? 0;
    if (queued > 0) report.kept.push({ day: day.suffix, queued });
    else candidates.push(day);
  }
  const outcomes = await givingWay(() => locked((tx) => detachHistoryDaysDeliveries(tx, candidates)));
  if (outcomes === null) return report;
  if (outcomes === 'busy') report.deferred.push(...candidates.map((day) => day.suffix));
  else {
    const going = candidates.filter((day) => outcomes.get(day.suffix)?.dropped);
    for (const day of candidates) {
      const outcome = outcomes.get(day.suffix);
      if (outcome && !outcome.dropped) report.kept.push({ day: day.suffix, queued: outcome.queued });
    }
    const rest = await givingWay(() => locked((tx) => detachHistoryDaysRest(tx, going).then(() => true)));
    if (rest === null) return report;
    if (rest === 'busy') report.deferred.push(...going.map((day) => day.suffix));
    else report.dropped.push(...going.map((day) => day.suffix));
  }
  // The detached days' files go last (and what a run that died left detached), a day per
  // transaction that locks only its tables: the dispatchers' tables are not held while files are unlinked.
  // Busy: the next run drops them.
  stepDone('detach');
  const released = await givingWay(() => locked((tx) => releaseDetachedHistory(tx).then(() => true)));
  const detached = released === true ? await locked((tx) => detachedHistory(tx)) : null;
  let pause = 0;
  for (const [i, tables] of byDay(detached ?? []).entries()) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, pause));
    const started = performance.now();
    const dropped = await givingWay(() => locked((tx) => dropDetachedTables(tx, tables)));
    if (dropped === null || dropped === 'busy') break;
    // Freeing a day's files holds up every commit on the host while the filesystem discards them
    // (on this disk, mounted with `discard`, one client's commits fell from ~1,600/s to ~300/s, p99
    // 29 ms, while ten 100 MB tables were dropped back to back): pause a tenth as long as each drop,
    // so the commits it held up go through before the next day's files go. Pausing longer does not
    // spare the dispatchers: what they lose is the run's CPU (~0.9 s for 30 days, 40 % of it the
    // kernel evicting the dropped files from the page cache), which a pause spreads but does not
    // reduce (bench/README.md, figure 5).
    pause = Math.min(
      DROP_PAUSE_MAX_MS,
      (performance.now() - started) * (options.dropPauseRatio ?? DEFAULT_DROP_PAUSE_RATIO),
    );
  }

  stepDone('drop');
  if (options.payloadRetentionMs !== undefined) {
    const payloadCutoff = new Date(now.getTime() - options.payloadRetentionMs);
    // A batch per transaction (see expirePayloadsBatch), until one comes back short.
    for (;;) {
      const batch = await locked((tx) => expirePayloadsBatch(tx, payloadCutoff));
      if (batch === null) return report;
      report.expiredPayloads.events += batch.events;
      report.expiredPayloads.attempts += batch.attempts;
      if (!batch.more) break;
    }
  }
  stepDone('payloads');
  if (options.payloadRetentionMs !== undefined) {
    const payloadCutoff = new Date(now.getTime() - options.payloadRetentionMs);
    const due = await locked((tx) =>
      tablesToCompact(tx, payloadCutoff, {
        limitDays: options.compactDaysPerRun ?? 1,
        maxTableBytes: options.compactMaxTableBytes ?? DEFAULT_COMPACT_MAX_TABLE_BYTES,
      }),
    );
    compacting: for (const tables of due ?? []) {
      for (const table of tables) {
        const done = await givingWay(() => locked((tx) => compactHistoryTable(tx, table)));
        // Another process took the lock, or readers kept the table busy: the next run goes on.
        if (done === null || done === 'busy') break compacting;
        // The horizon is the cluster's: the other tables would wait for the same transaction.
        if (done === 'held') {
          report.compactionHeld.push(table);
          break compacting;
        }
        if (done) report.compacted.push(table);
      }
    }
  }
  stepDone('compact');
  // A batch per transaction, each kind until a batch comes back short (or another process took the lock).
  purging: for (const kind of expiredRecordKinds) {
    for (;;) {
      const deleted = await locked((tx) => purgeExpiredBatch(tx, kind, now));
      if (deleted === null) break purging;
      report.purged[kind] += deleted;
      if (deleted < PURGE_BATCH) break;
    }
  }
  stepDone('purge');

  const log = options.logger;
  const purgedAny =
    Object.values(report.purged).some((n) => n > 0) ||
    report.abandonedListen > 0 ||
    report.abandonedListenEndpoints > 0;
  if (
    report.created.length ||
    report.dropped.length ||
    report.expiredPayloads.events ||
    report.compacted.length ||
    report.secrets.sealed ||
    purgedAny
  ) {
    const { created, dropped, expiredPayloads, compacted, purged, abandonedListen, abandonedListenEndpoints, stepMs } =
      report;
    const sealedSecrets = report.secrets.sealed;
    log?.info(
      {
        created,
        dropped,
        expiredPayloads,
        compacted,
        purged,
        abandonedListen,
        abandonedListenEndpoints,
        sealedSecrets,
        stepMs,
      },
      'history maintained',
    );
  }
  if (report.secrets.unreadable) {
    log?.warn(
      { secrets: report.secrets.unreadable },
      'endpoint signing secrets sealed under a key this process does not hold: their deliveries wait; ' +
        'set HERALD_SECRET_KEY (and HERALD_SECRET_KEY_PREVIOUS during a rotation)',
    );
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
  if (report.compactionHeld.length) {
    log?.warn(
      { tables: report.compactionHeld },
      'history compaction left for the next run: a transaction open since before its payloads were cleared could still read them',
    );
  }
  return report;
}

/** Tables larger than this are not compacted. */
const DEFAULT_COMPACT_MAX_TABLE_BYTES = 128 * 2 ** 20;

/** The pause after a day's drop, as a share of the time the drop took. */
const DEFAULT_DROP_PAUSE_RATIO = 0.1;

/** The longest pause between two days' drops. */
const DROP_PAUSE_MAX_MS = 500;

/** Detached history tables grouped by day (their suffix): one drop per day. */
function byDay(tables: string[]): string[][] {
  const days = new Map<string, string[]>();
  for (const table of tables) {
    const day = table.slice(table.lastIndexOf('_') + 1);
    days.set(day, [...(days.get(day) ?? []), table]);
  }
  return [...days.values()];
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
