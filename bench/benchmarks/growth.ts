/**
 * Figure 5: dispatch throughput with a long history (10,000,000 succeeded
 * deliveries with their attempts and events, over 60 day partitions) ÷ with
 * empty tables. Both sides run in the same dispatcher process, alternating
 * databases. Then Herald's retention (30-day window) runs while the
 * dispatcher sends a backlog: its run time, the history's size after ÷
 * before, and dispatch throughput during the run ÷ just before it. Also: the
 * dispatcher's resident memory at steady state.
 */
import { createDb } from '@herald/db';
import { startChild } from '../lib/child';
import type { BenchContext, Figure } from '../lib/context';
import { sides, sizeFor } from '../lib/context';
import type { Sql } from '../lib/fixtures';
import { connect, seedProject } from '../lib/fixtures';
import { loadHistory } from '../lib/history';
import type { BenchDatabase } from '../lib/pg';
import { createBenchDatabase } from '../lib/pg';
import { fmt, fmtSpread, ratios, spread } from '../lib/stats';
import type { DispatchRun } from './dispatch';
import { heraldDispatch } from './dispatch';
import { retentionFigures, runRetentionWhileDispatching } from './growth-retention';

/** Days of history: twice the default 30-day retention, so a run drops about half. */
const HISTORY_DAYS = 60;

/**
 * Whether Herald's own connections run with PostgreSQL's JIT on (the server default). Over
 * 60 day partitions the claim's estimated cost passes jit_above_cost and jit_optimize_above_cost,
 * so every claim is JIT-compiled: seconds per claim (bench/README.md). Until Herald's
 * connections turn it off, both databases get `jit = off` so the figure measures the rest;
 * the figure's name says so.
 */
async function turnJitOffUnlessHeraldDoes(dbs: BenchDatabase[], sql: Sql): Promise<boolean> {
  const herald = await createDb({ url: dbs[0]!.url, migrate: false, maxConnections: 1 });
  try {
    const [row] = await herald.sql!<{ jit: string }[]>`show jit`;
    if (row?.jit !== 'on') return false;
  } finally {
    await herald.close();
  }
  for (const db of dbs) await sql.unsafe(`alter database ${db.name} set jit = off`);
  return true;
}

export async function growthBench(ctx: BenchContext): Promise<Figure[]> {
  const { scale } = ctx;
  const empty = await createBenchDatabase('growth_empty');
  const full = await createBenchDatabase('growth_full');
  const sqlEmpty = connect(empty.url);
  const sqlFull = connect(full.url);
  const worker = await startChild('worker.ts', 'herald-growth', { profile: ctx.profile === 'growth' });
  try {
    const dbs = {
      bare: { url: empty.url, sql: sqlEmpty, project: await seedProject(sqlEmpty, ctx.receiverUrl) },
      herald: { url: full.url, sql: sqlFull, project: await seedProject(sqlFull, ctx.receiverUrl) },
    };
    const history = await loadHistory(sqlFull, full.url, dbs.herald.project, {
      deliveries: scale.growthRows,
      days: HISTORY_DAYS,
    });
    const [size] = await sqlFull<
      { size: string }[]
    >`select pg_size_pretty(pg_database_size(current_database())) as size`;
    ctx.log(
      `  wrote ${scale.growthRows.toLocaleString('en-US')} past deliveries (and as many attempts, ${history.events.toLocaleString('en-US')} events) ` +
        `over ${HISTORY_DAYS} day partitions in ${fmt(history.loadSeconds, 1)} s, days past payload retention compacted, all vacuumed and analyzed in ${fmt(history.vacuumSeconds, 1)} s (database ${size?.size})`,
    );

    const jitOff = await turnJitOffUnlessHeraldDoes([empty, full], sqlFull);
    if (jitOff)
      ctx.log(
        "  Herald's connections run with jit = on: measured with jit = off on both databases (a claim over the day partitions is JIT-compiled otherwise)",
      );

    const warm = await heraldDispatch(ctx, worker, dbs.bare, scale.dispatchMin);
    await heraldDispatch(ctx, worker, dbs.herald, scale.dispatchMin);
    const count = sizeFor(scale, ctx.shared.heraldDispatchRate ?? warm.rate, scale.growthSeconds);
    ctx.log(`  ${count} deliveries per run`);
    const h: DispatchRun[] = [];
    const b: DispatchRun[] = [];
    for (let round = 0; round < scale.rounds; round++) {
      for (const side of sides(round))
        (side === 'herald' ? h : b).push(await heraldDispatch(ctx, worker, dbs[side], count));
      ctx.log(
        `  round ${round + 1}: with history ${fmt(h.at(-1)!.rate)}/s, empty ${fmt(b.at(-1)!.rate)}/s, RSS ${fmt(h.at(-1)!.rssMb, 0)} MB`,
      );
    }
    const historyRate = spread(h.map((r) => r.rate));
    const retention = await runRetentionWhileDispatching(ctx, worker, dbs.herald, historyRate.median);
    const rss = spread([...h, ...b].map((r) => r.rssMb));
    const idle = spread([...h, ...b].map((r) => r.idleRssMb));
    return [
      {
        id: '5',
        name: `Growth (${scale.growthRows.toLocaleString('en-US')} past deliveries${jitOff ? ', jit off' : ''})`,
        ratio: spread(
          ratios(
            h.map((r) => r.rate),
            b.map((r) => r.rate),
          ),
        ),
        goal: { op: '>=', value: 0.9 },
        absolute: `history ${fmtSpread(historyRate, 0)}/s; empty ${fmtSpread(spread(b.map((r) => r.rate)), 0)}/s`,
        detail: {
          withHistoryPerSecond: h.map((r) => r.rate),
          emptyPerSecond: b.map((r) => r.rate),
          pastDeliveries: scale.growthRows,
          history,
          deliveriesPerRun: count,
          databaseSize: size?.size,
        },
      },
      ...retentionFigures(retention, jitOff),
      {
        id: '·',
        name: 'Dispatcher resident memory',
        ratio: null,
        goal: null,
        absolute: `${fmtSpread(rss, 0)} MB at steady state; ${fmt(idle.median, 0)} MB before it started (RSS of the process)`,
        detail: { rssMb: [...h, ...b].map((r) => r.rssMb), idleRssMb: [...h, ...b].map((r) => r.idleRssMb) },
      },
    ];
  } finally {
    await worker.exit();
    await sqlEmpty.end({ timeout: 2 });
    await sqlFull.end({ timeout: 2 });
    await empty.drop();
    await full.drop();
  }
}
