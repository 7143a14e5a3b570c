/**
 * Figure 4: event-insert throughput of eight writers with dispatcher wakeups
 * on (a coalesced NOTIFY after commits that created deliveries, as the API
 * does) ÷ off. A dispatcher-style LISTEN connection is subscribed throughout.
 */
import { createDb } from '@herald/db';
import { createDeliveryWakeup } from '@herald/delivery';
import { startChild } from '../lib/child';
import type { BenchContext, Figure } from '../lib/context';
import { sides } from '../lib/context';
import { connect, seedProject } from '../lib/fixtures';
import { createBenchDatabase } from '../lib/pg';
import { fmt, fmtSpread, ratios, spread } from '../lib/stats';

type WriteRun = { commits: number; elapsedMs: number };

export async function wakeupBench(ctx: BenchContext): Promise<Figure[]> {
  const { scale } = ctx;
  const bench = await createBenchDatabase('wakeup');
  const sql = connect(bench.url);
  const on = await startChild('worker.ts', 'herald-wakeup-on', { profile: ctx.profile === 'wakeup' });
  const off = await startChild('worker.ts', 'bare-wakeup-off');
  const listener = await createDb({ url: bench.url, migrate: false, maxConnections: 1 });
  const wakeup = createDeliveryWakeup(listener);
  let wakeups = 0;
  const unsubscribe = await wakeup.subscribe(() => wakeups++);
  try {
    const project = await seedProject(sql, ctx.receiverUrl);
    const write = async (notify: boolean, durationMs: number) => {
      const before = wakeups;
      const run = await (notify ? on : off).call<WriteRun>('writeEvents', {
        url: bench.url,
        projectId: project.projectId,
        writers: scale.writers,
        durationMs,
        notify,
      });
      return {
        perSecond: (run.commits * 1000) / run.elapsedMs,
        wakeupsPerSecond: ((wakeups - before) * 1000) / run.elapsedMs,
      };
    };
    await write(true, Math.min(1000, scale.wakeupDurationMs));
    await write(false, Math.min(1000, scale.wakeupDurationMs));
    const h: number[] = [];
    const b: number[] = [];
    const notifies: number[] = [];
    for (let round = 0; round < scale.rounds; round++) {
      for (const side of sides(round)) {
        const run = await write(side === 'herald', scale.wakeupDurationMs);
        if (side === 'herald') {
          h.push(run.perSecond);
          notifies.push(run.wakeupsPerSecond);
        } else b.push(run.perSecond);
      }
      ctx.log(
        `  round ${round + 1}: wakeups on ${fmt(h.at(-1)!)}/s, off ${fmt(b.at(-1)!)}/s, ${fmt(notifies.at(-1)!)} NOTIFY/s`,
      );
    }
    return [
      {
        id: '4',
        name: `Wakeup cost (${scale.writers} writers)`,
        ratio: spread(ratios(h, b)),
        goal: { op: '>=', value: 0.9 },
        absolute: `on ${fmtSpread(spread(h), 0)} events/s; off ${fmtSpread(spread(b), 0)}/s; ${fmt(spread(notifies).median, 0)} NOTIFY/s`,
        detail: { onPerSecond: h, offPerSecond: b, notifiesPerSecond: notifies, writers: scale.writers },
      },
    ];
  } finally {
    await unsubscribe();
    await wakeup.close();
    await listener.close();
    await on.exit();
    await off.exit();
    await sql.end({ timeout: 2 });
    await bench.drop();
  }
}
