/**
 * Figure 5: dispatch throughput with a long history (1,000,000 succeeded
 * deliveries, their attempts and events) ÷ with empty tables. Both sides run
 * in the same dispatcher process, alternating databases. Also: the
 * dispatcher's resident memory at steady state.
 */
import { startChild } from '../lib/child';
import type { BenchContext, Figure } from '../lib/context';
import { sides, sizeFor } from '../lib/context';
import { connect, loadHistory, seedProject } from '../lib/fixtures';
import { createBenchDatabase } from '../lib/pg';
import { fmt, fmtSpread, monoMs, ratios, spread } from '../lib/stats';
import type { DispatchRun } from './dispatch';
import { heraldDispatch } from './dispatch';

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
    const t = monoMs();
    await loadHistory(sqlFull, dbs.herald.project, scale.growthRows);
    const [size] = await sqlFull<
      { size: string }[]
    >`select pg_size_pretty(pg_database_size(current_database())) as size`;
    ctx.log(
      `  wrote ${scale.growthRows.toLocaleString('en-US')} past deliveries in ${fmt((monoMs() - t) / 1000, 1)} s (database ${size?.size})`,
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
    const rss = spread([...h, ...b].map((r) => r.rssMb));
    const idle = spread([...h, ...b].map((r) => r.idleRssMb));
    return [
      {
        id: '5',
        name: `Growth (${scale.growthRows.toLocaleString('en-US')} past deliveries)`,
        ratio: spread(
          ratios(
            h.map((r) => r.rate),
            b.map((r) => r.rate),
          ),
        ),
        goal: { op: '>=', value: 0.9 },
        absolute: `history ${fmtSpread(spread(h.map((r) => r.rate)), 0)}/s; empty ${fmtSpread(spread(b.map((r) => r.rate)), 0)}/s`,
        detail: {
          withHistoryPerSecond: h.map((r) => r.rate),
          emptyPerSecond: b.map((r) => r.rate),
          pastDeliveries: scale.growthRows,
          deliveriesPerRun: count,
          databaseSize: size?.size,
        },
      },
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
