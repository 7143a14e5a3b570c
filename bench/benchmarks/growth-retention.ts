/**
 * The second half of the growth benchmark: Herald's own maintenance run
 * (`runMaintenance`, 30-day retention and 7-day payload retention, the
 * defaults) over the 60 days of history, started while a dispatcher is
 * sending a backlog in the same database. Measured: how long the run takes,
 * the history tables' size after ÷ before, and deliveries/s at the receiver
 * during the run ÷ just before it.
 */
import { createDb } from '@herald/db';
import type { MaintenanceReport } from '@herald/delivery';
import { defaultDispatcherConfig, runMaintenance } from '@herald/delivery';
import type { Child } from '../lib/child';
import type { BenchContext, Figure } from '../lib/context';
import type { Project, Sql } from '../lib/fixtures';
import { preloadDeliveries } from '../lib/fixtures';
import type { HistorySizes } from '../lib/history';
import { historySizes } from '../lib/history';
import { fmt, monoMs, sleep, spread } from '../lib/stats';

export interface RetentionRun {
  seconds: number;
  report: MaintenanceReport;
  /** Just before the run. */
  bytesBefore: HistorySizes;
  /** Just after the run (before the rest of the backlog is sent). */
  bytesAfter: HistorySizes;
  /** Deliveries/s at the receiver in the window before the run (as long as the run, at least 1 s). */
  rateBefore: number;
  rateDuring: number;
  beforeWindowMs: number;
  backlog: number;
}

const total = (bytes: Record<string, number>) => Object.values(bytes).reduce((a, b) => a + b, 0);
const gb = (bytes: number) => `${fmt(bytes / 2 ** 30, 2)} GB`;

/** Arrivals per second within [from, to] (CLOCK_MONOTONIC ms). */
function rateWithin(arrivals: number[], from: number, to: number): number {
  const n = arrivals.filter((t) => t >= from && t <= to).length;
  return to > from ? (n * 1000) / (to - from) : Number.NaN;
}

export async function runRetentionWhileDispatching(
  ctx: BenchContext,
  worker: Child,
  db: { url: string; sql: Sql; project: Project },
  rate: number,
): Promise<RetentionRun> {
  const { scale } = ctx;
  // About `lead` seconds of sending before the run starts, so the window before it (the last
  // `lead` seconds but the warm-up) can be as long as the run (a shorter one made the ratio swing by ±20 %). The backlog is topped up by
  // `chunk` (about 3 s of sending) whenever less than two chunks are left, from the start: the
  // bench's own inserts load the window before the run as they load the run.
  const lead = scale.retentionLeadSeconds;
  const chunk = Math.max(scale.dispatchMin, Math.round((rate * 3) / 100) * 100);
  let backlog = 3 * chunk;
  await preloadDeliveries(db.sql, db.project, backlog);
  await ctx.receiver.call('reset', { record: true });
  const maintainer = await createDb({ url: db.url, migrate: false, maxConnections: 2 });
  const received = async () => (await ctx.receiver.call<{ count: number }>('stats')).count;
  try {
    let finished = false;
    const dispatch = () =>
      worker.call<{ succeeded: number }>('dispatch', {
        url: db.url,
        concurrency: scale.concurrency,
        batchSize: scale.batchSize,
      });
    const dispatching = dispatch().finally(() => {
      finished = true;
    });
    let maintaining = true;
    const topUps = (async () => {
      while (maintaining && !finished) {
        if (backlog - (await received()) < 2 * chunk) {
          await preloadDeliveries(db.sql, db.project, chunk);
          backlog += chunk;
        }
        await sleep(100);
      }
    })();
    topUps.catch(() => {}); // awaited below; until then a failed insert must not end the process
    // Not the dispatcher's first seconds: connections opening, the first claims and queue-window
    // refresh, and a stall of up to a second seen there (the rate before swung by ±20 % with them).
    const warmUpMs = Math.min(3000, (lead * 1000) / 3);
    while (!finished && (await received()) < rate * lead) await sleep(20);
    if (finished) throw new Error('growth: the backlog was sent before the retention run could start');
    // Sizes just before the run: the backlog written so far is history like the rest.
    const bytesBefore = await historySizes(db.sql);
    const t0 = monoMs();
    const maintenance = runMaintenance(maintainer.db, {
      retentionMs: defaultDispatcherConfig.retentionMs,
      payloadRetentionMs: defaultDispatcherConfig.payloadRetentionMs,
      partitionsAheadDays: defaultDispatcherConfig.partitionsAheadDays,
    }).finally(() => {
      maintaining = false;
    });
    const report = await maintenance;
    const t1 = monoMs();
    const bytesAfter = await historySizes(db.sql);
    await topUps;
    let succeeded = (await dispatching).succeeded;
    // The dispatcher went idle during the run (the top-up came too late): send what is left, unmeasured.
    if (succeeded < backlog) succeeded += (await dispatch()).succeeded;
    const { count, firstByte } = await ctx.receiver.call<{ count: number; firstByte: Record<string, number> }>(
      'stats',
      { withTimes: true },
    );
    if (succeeded !== backlog || count < backlog)
      throw new Error(`growth: expected ${backlog} deliveries, ${succeeded} succeeded, receiver saw ${count}`);
    const arrivals = Object.values(firstByte).sort((a, b) => a - b);
    // The last arrival before the dispatcher first went idle.
    const last = arrivals.filter((t) => t <= t1 + 1000).at(-1)!;
    if (last < t1)
      ctx.log('  (the dispatcher ran out of work before the retention run ended: throughput during it is understated)');
    const window = Math.max(t1 - t0, 1000);
    const from = Math.min(Math.max(arrivals[0]! + warmUpMs, t0 - window), t0 - 100);
    const result: RetentionRun = {
      seconds: (t1 - t0) / 1000,
      report,
      bytesBefore,
      bytesAfter,
      rateBefore: rateWithin(arrivals, from, t0),
      rateDuring: rateWithin(arrivals, t0, Math.min(t1, last)),
      beforeWindowMs: t0 - from,
      backlog,
    };
    // Where the run's loss lies: deliveries/s in 250 ms bins from 1 s before the run to its end,
    // with the steps' ends (cumulative `stepMs`) marked.
    const binMs = 250;
    const bins: string[] = [];
    let stepEnd = 0;
    const stepEnds = Object.entries(report.stepMs).map(([step, ms]) => {
      stepEnd += ms;
      return { step, at: t0 + stepEnd };
    });
    for (let from = t0 - 1000; from < t1; from += binMs) {
      const ends = stepEnds.filter((s) => s.at >= from && s.at < from + binMs).map((s) => `|${s.step}`);
      bins.push(`${Math.round(rateWithin(arrivals, from, from + binMs))}${ends.join('')}`);
    }
    ctx.log(`  deliveries/s per ${binMs} ms from 1 s before the run (|step: that step ended): ${bins.join(' ')}`);
    ctx.log(
      `  retention run: ${fmt(result.seconds, 2)} s, dropped ${report.dropped.length} days, kept ${report.kept.length}, deferred ${report.deferred.length}, ` +
        `payloads expired ${report.expiredPayloads.events} events / ${report.expiredPayloads.attempts} attempts; ` +
        `steps ${Object.entries(report.stepMs)
          .map(([step, ms]) => `${step} ${ms} ms`)
          .join(', ')}; ` +
        `history before today ${gb(total(bytesBefore.past))} → ${gb(total(bytesAfter.past))}, ` +
        `today and ahead ${gb(total(bytesBefore.live))} → ${gb(total(bytesAfter.live))}; ` +
        `dispatch ${fmt(result.rateDuring)}/s during, ${fmt(result.rateBefore)}/s before`,
    );
    return result;
  } finally {
    await maintainer.close();
  }
}

export function retentionFigures(r: RetentionRun, jitOff: boolean): Figure[] {
  const jit = jitOff ? ', jit off' : '';
  const one = (value: number) => spread([value]);
  const { past: before, live: liveBefore } = r.bytesBefore;
  const { past: after, live: liveAfter } = r.bytesAfter;
  const tables = Object.keys(before)
    .map((t) => `${t} ${fmt(before[t]! / 2 ** 20, 0)} → ${fmt(after[t]! / 2 ** 20, 0)} MB`)
    .join(', ');
  const detail = { ...r, report: { ...r.report, created: r.report.created.length } };
  return [
    {
      id: '5a',
      name: `Retention run (30-day window${jit}), seconds`,
      ratio: one(r.seconds),
      goal: { op: '<=', value: 5 },
      absolute: `${r.report.dropped.length} of the oldest days dropped (${r.report.kept.length} kept, ${r.report.deferred.length} left to the next run), payload retention included`,
      detail,
    },
    {
      id: '5b',
      name: 'History size after retention ÷ before (days before today)',
      ratio: one(total(after) / total(before)),
      goal: { op: '<=', value: 0.55 },
      absolute:
        `days before today ${gb(total(before))} → ${gb(total(after))} (${tables}); ` +
        `with today's and those ahead (the bench's backlog) ${gb(total(before) + total(liveBefore))} → ` +
        `${gb(total(after) + total(liveAfter))}, ${fmt((total(after) + total(liveAfter)) / (total(before) + total(liveBefore)), 3)}`,
      detail: { bytesBefore: r.bytesBefore, bytesAfter: r.bytesAfter },
    },
    {
      id: '5c',
      name: `Dispatch during retention ÷ before${jit ? ' (jit off)' : ''}`,
      ratio: one(r.rateDuring / r.rateBefore),
      goal: { op: '>=', value: 0.9 },
      absolute: `during ${fmt(r.rateDuring, 0)}/s (${fmt(r.seconds, 2)} s); before ${fmt(r.rateBefore, 0)}/s (${fmt(r.beforeWindowMs / 1000, 2)} s); backlog ${r.backlog}`,
      detail: { rateBefore: r.rateBefore, rateDuring: r.rateDuring, beforeWindowMs: r.beforeWindowMs },
    },
  ];
}
