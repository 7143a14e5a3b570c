/**
 * Figure 1: dispatcher deliveries per second ÷ a bare loop sending the same
 * signed 1 KB bodies with the same undici sender and concurrency to the
 * same receiver. Also: database commits per delivery.
 */

import type { Child } from '../lib/child';
import { startChild } from '../lib/child';
import type { BenchContext, Figure } from '../lib/context';
import { sides, sizeFor } from '../lib/context';
import { machineMark, machineSince } from '../lib/cpu';
import type { Project, Sql } from '../lib/fixtures';
import { connect, countDeliveries, preloadDeliveries, seedProject } from '../lib/fixtures';
import { createBenchDatabase, xactCommits } from '../lib/pg';
import { fmt, fmtSpread, ratios, sleep, spread } from '../lib/stats';

export interface DispatchRun {
  rate: number;
  rssMb: number;
  /** The same process before the dispatcher started. */
  idleRssMb: number;
  commitsPerDelivery: number;
  /** CPU µs per delivery: the dispatcher process, and the PostgreSQL backends of its pool. */
  workerCpuUs: number;
  databaseCpuUs: number;
  /** The whole machine's busy CPU µs per delivery around the worker's run (its setup included), and its busy share of the cores. */
  machineCpuUs: number;
  machineBusy: number;
}

/** Preloads `count` due deliveries, runs a Herald dispatcher until they are all sent. */
export async function heraldDispatch(
  ctx: BenchContext,
  worker: Child,
  db: { url: string; sql: Sql; project: Project },
  count: number,
  preload: { subjects?: number } = {},
): Promise<DispatchRun> {
  const ids = await preloadDeliveries(db.sql, db.project, count, preload);
  await ctx.receiver.call('reset', { record: false });
  const commitsBefore = await xactCommits(db.url);
  const machine = machineMark();
  const run = await worker.call<{
    elapsedMs: number;
    rssMb: number;
    idleRssMb: number;
    succeeded: number;
    pool: number;
    processUs: number;
    backendUs: number;
  }>('dispatch', {
    url: db.url,
    concurrency: ctx.scale.concurrency,
    batchSize: ctx.scale.batchSize,
  });
  const { busyUs, busyShare } = machineSince(machine);
  await sleep(100); // the dispatcher's backends flush their counters as they exit
  // Not per delivery: one `select 1` per pooled connection, LISTEN, UNLISTEN, releaseLeases, and our own read.
  const commits = (await xactCommits(db.url)) - commitsBefore - (run.pool + 4);
  const done = await countDeliveries(db.sql, 'succeeded', ids);
  const { count: received } = await ctx.receiver.call<{ count: number }>('stats');
  if (done !== count || run.succeeded !== count || received < count) {
    throw new Error(
      `dispatch: expected ${count} deliveries, ${done} succeeded in the database, receiver saw ${received}`,
    );
  }
  return {
    rate: (count * 1000) / run.elapsedMs,
    rssMb: run.rssMb,
    idleRssMb: run.idleRssMb,
    commitsPerDelivery: commits / count,
    workerCpuUs: run.processUs / count,
    databaseCpuUs: run.backendUs / count,
    machineCpuUs: busyUs / count,
    machineBusy: busyShare,
  };
}

export async function bareDispatch(
  ctx: BenchContext,
  worker: Child,
  secret: string,
  count: number,
  tag: string,
): Promise<number> {
  return (await bareDispatchRun(ctx, worker, secret, count, tag)).rate;
}

/** The bare loop's rate and its process's CPU µs per message. */
export async function bareDispatchRun(
  ctx: BenchContext,
  worker: Child,
  secret: string,
  count: number,
  tag: string,
): Promise<{ rate: number; workerCpuUs: number; machineCpuUs: number; machineBusy: number }> {
  await ctx.receiver.call('reset', { record: false });
  const machine = machineMark();
  const run = await worker.call<{ elapsedMs: number; failures: number; processUs: number }>('bareSend', {
    target: ctx.receiverUrl,
    secret,
    count,
    concurrency: ctx.scale.concurrency,
    tag,
  });
  const { busyUs, busyShare } = machineSince(machine);
  const { count: received } = await ctx.receiver.call<{ count: number }>('stats');
  if (run.failures > 0 || received !== count)
    throw new Error(`bare loop: ${run.failures} failures, receiver saw ${received} of ${count}`);
  return {
    rate: (count * 1000) / run.elapsedMs,
    workerCpuUs: run.processUs / count,
    machineCpuUs: busyUs / count,
    machineBusy: busyShare,
  };
}

export async function dispatchBench(ctx: BenchContext): Promise<Figure[]> {
  const { scale } = ctx;
  const bench = await createBenchDatabase('dispatch');
  const sql = connect(bench.url);
  const herald = await startChild('worker.ts', 'herald-dispatch', { profile: ctx.profile === 'dispatch' });
  const bare = await startChild('worker.ts', 'bare-dispatch');
  try {
    const project = await seedProject(sql, ctx.receiverUrl);
    const db = { url: bench.url, sql, project };
    // Warm-up (JIT, sockets, connections), not counted.
    // Each side sends enough for about `dispatchSeconds` at its warm-up rate.
    const bareWarm = await bareDispatch(ctx, bare, project.secret!, scale.dispatchMin * 2, 'w');
    const warm = await heraldDispatch(ctx, herald, db, scale.dispatchMin);
    const count = sizeFor(scale, warm.rate, scale.dispatchSeconds);
    const bareCount = Math.max(
      count,
      Math.min(5 * scale.dispatchMax, Math.round((bareWarm * scale.dispatchSeconds) / 100) * 100),
    );
    ctx.log(
      `  warm-up: herald ${fmt(warm.rate)}/s, bare ${fmt(bareWarm)}/s; ${count} and ${bareCount} messages per run`,
    );

    const h: DispatchRun[] = [];
    const b: number[] = [];
    for (let round = 0; round < scale.rounds; round++) {
      for (const side of sides(round)) {
        if (side === 'bare') b.push(await bareDispatch(ctx, bare, project.secret!, bareCount, `r${round}`));
        else h.push(await heraldDispatch(ctx, herald, db, count));
      }
      const last = h.at(-1)!;
      ctx.log(
        `  round ${round + 1}: herald ${fmt(last.rate)}/s, bare ${fmt(b.at(-1)!)}/s; CPU/delivery ${fmt(last.workerCpuUs, 0)} µs dispatcher, ${fmt(last.databaseCpuUs, 0)} µs PostgreSQL`,
      );
    }
    const heraldRates = h.map((r) => r.rate);
    const ratio = spread(ratios(heraldRates, b));
    const commits = spread(h.map((r) => r.commitsPerDelivery));
    const workerCpu = spread(h.map((r) => r.workerCpuUs));
    const databaseCpu = spread(h.map((r) => r.databaseCpuUs));
    ctx.shared.heraldDispatchRate = spread(heraldRates).median;
    return [
      {
        id: '1',
        name: 'Dispatch efficiency',
        ratio,
        goal: { op: '>=', value: 0.7 },
        absolute: `herald ${fmtSpread(spread(heraldRates), 0)}/s; bare ${fmtSpread(spread(b), 0)}/s`,
        detail: {
          heraldPerSecond: heraldRates,
          barePerSecond: b,
          deliveriesPerRun: count,
          bareMessagesPerRun: bareCount,
          concurrency: scale.concurrency,
        },
      },
      {
        id: '·',
        name: 'DB commits per delivery',
        ratio: null,
        goal: null,
        absolute: `${fmtSpread(commits, 2)} (pg_stat_database.xact_commit)`,
        detail: { commitsPerDelivery: h.map((r) => r.commitsPerDelivery) },
      },
      {
        id: '·',
        name: 'CPU per delivery',
        ratio: null,
        goal: null,
        absolute: `dispatcher ${fmtSpread(workerCpu, 0)} µs; its PostgreSQL backends ${fmtSpread(databaseCpu, 0)} µs`,
        detail: { workerCpuUs: h.map((r) => r.workerCpuUs), databaseCpuUs: h.map((r) => r.databaseCpuUs) },
      },
    ];
  } finally {
    await herald.exit();
    await bare.exit();
    await sql.end({ timeout: 2 });
    await bench.drop();
  }
}
