/**
 * FIFO cost: a FIFO endpoint's dispatch throughput with its backlog spread
 * over many subjects, divided by a plain endpoint's with the same backlog,
 * the same dispatcher process taking turns between them. Goal ≥ 0.8: order
 * per subject costs little while there are subjects enough to fill the slots.
 */
import { startChild } from '../lib/child';
import type { BenchContext, Figure } from '../lib/context';
import { sides, sizeFor } from '../lib/context';
import { connect, seedProject } from '../lib/fixtures';
import { createBenchDatabase } from '../lib/pg';
import { fmt, fmtSpread, ratios, spread } from '../lib/stats';
import { heraldDispatch } from './dispatch';

/**
 * Many subjects (at least four times the dispatcher's concurrency, so FIFO can
 * keep every slot busy), each with several events in a row to wait on.
 */
const subjectsFor = (count: number) => Math.max(256, Math.floor(count / 8));

export async function fifoBench(ctx: BenchContext): Promise<Figure[]> {
  const { scale } = ctx;
  const bench = await createBenchDatabase('fifo');
  const sql = connect(bench.url);
  const herald = await startChild('worker.ts', 'herald-fifo', { profile: ctx.profile === 'fifo' });
  try {
    const plain = { url: bench.url, sql, project: await seedProject(sql, ctx.receiverUrl) };
    const fifo = { url: bench.url, sql, project: await seedProject(sql, ctx.receiverUrl) };
    await sql`update endpoints set ordering = 'fifo' where id = ${fifo.project.endpointId}`;
    const warmOptions = { subjects: subjectsFor(scale.dispatchMin) };
    const warm = await heraldDispatch(ctx, herald, plain, scale.dispatchMin, warmOptions);
    await heraldDispatch(ctx, herald, fifo, scale.dispatchMin, warmOptions);
    const count = sizeFor(scale, warm.rate, scale.dispatchSeconds);
    const options = { subjects: subjectsFor(count) };
    ctx.log(`  warm-up: plain ${fmt(warm.rate)}/s; ${count} deliveries over ${options.subjects} subjects per run`);

    const f: number[] = [];
    const p: number[] = [];
    for (let round = 0; round < scale.rounds; round++) {
      for (const side of sides(round)) {
        if (side === 'bare') p.push((await heraldDispatch(ctx, herald, plain, count, options)).rate);
        else f.push((await heraldDispatch(ctx, herald, fifo, count, options)).rate);
      }
      ctx.log(`  round ${round + 1}: fifo ${fmt(f.at(-1)!)}/s, plain ${fmt(p.at(-1)!)}/s`);
    }
    return [
      {
        id: '8',
        name: 'FIFO throughput (many subjects) ÷ plain',
        ratio: spread(ratios(f, p)),
        goal: { op: '>=', value: 0.8 },
        absolute: `fifo ${fmtSpread(spread(f), 0)}/s; plain ${fmtSpread(spread(p), 0)}/s`,
        detail: { fifoPerSecond: f, plainPerSecond: p, deliveriesPerRun: count, subjects: options.subjects },
      },
    ];
  } finally {
    await herald.exit();
    await sql.end({ timeout: 2 });
    await bench.drop();
  }
}
