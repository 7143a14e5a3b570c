/**
 * Figure 3: p50 and p99 from the commit of a change to the receiver's first
 * byte, at half the dispatcher's maximum throughput, ÷ the same percentiles
 * of a bare POST (from handing the message to the sender to the first byte)
 * at the same rate. Timestamps are CLOCK_MONOTONIC in every process.
 */
import { createDb } from '@herald/db';
import { createDeliveryWakeup, recordEvent } from '@herald/delivery';
import type { Child } from '../lib/child';
import { startChild } from '../lib/child';
import type { BenchContext, Figure } from '../lib/context';
import { sides } from '../lib/context';
import type { Project } from '../lib/fixtures';
import { connect, seedProject, userCreatedData } from '../lib/fixtures';
import { createBenchDatabase } from '../lib/pg';
import { fmt, fmtSpread, monoMs, percentile, ratios, sleep, spread } from '../lib/stats';
import type { WebhookJob } from '../peers/common';
import { bareDurablePeer } from '../peers/queues';
import { heraldDispatch } from './dispatch';

type Percentiles = {
  p50: number;
  p99: number;
  samples: number;
  toSendP50?: number;
  toSendP99?: number;
  drainMs?: number;
};

export function latencies(sentAt: Record<string, number>, firstByte: Record<string, number>): Percentiles {
  const values: number[] = [];
  for (const [id, t0] of Object.entries(sentAt)) {
    const t1 = firstByte[id];
    if (t1 === undefined) throw new Error(`latency: message ${id} never reached the receiver`);
    values.push(t1 - t0);
  }
  return { p50: percentile(values, 50), p99: percentile(values, 99), samples: values.length };
}

export async function waitForReceiver(receiver: Child, expected: number): Promise<Record<string, number>> {
  const deadline = monoMs() + 60_000;
  for (;;) {
    const stats = await receiver.call<{ count: number }>('stats');
    if (stats.count >= expected) break;
    if (monoMs() > deadline) throw new Error(`latency: the receiver saw ${stats.count} of ${expected} messages`);
    await sleep(100);
  }
  return (await receiver.call<{ firstByte: Record<string, number> }>('stats', { withTimes: true })).firstByte;
}

export async function latencyBench(ctx: BenchContext): Promise<Figure[]> {
  const { scale } = ctx;
  const bench = await createBenchDatabase('latency');
  const sql = connect(bench.url);
  const herald = await startChild('worker.ts', 'herald-latency', { profile: ctx.profile === 'latency' });
  const bare = await startChild('worker.ts', 'bare-latency');
  const writer = await createDb({ url: bench.url, migrate: false });
  const wakeup = createDeliveryWakeup(writer);
  try {
    const project = await seedProject(sql, ctx.receiverUrl);
    let maxRate = ctx.shared.heraldDispatchRate;
    if (!maxRate) {
      maxRate = (await heraldDispatch(ctx, herald, { url: bench.url, sql, project }, scale.dispatchMin * 2)).rate;
      ctx.log(`  measured the dispatcher's maximum: ${fmt(maxRate)}/s`);
    }
    const rate = Math.max(10, Math.round(maxRate / 2));
    ctx.log(`  offering ${rate} events/s (half the dispatcher's maximum)`);
    await Promise.all(Array.from({ length: 10 }, () => writer.sql!`select 1`));

    const heraldRound = async (durationMs: number): Promise<Percentiles> => {
      await herald.call('startDispatcher', {
        url: bench.url,
        concurrency: scale.concurrency,
        batchSize: scale.batchSize,
      });
      await ctx.receiver.call('reset', { record: true });
      const since = new Date();
      const sentAt = await writeEvents(writer, wakeup, project, rate, durationMs);
      const writesDone = monoMs();
      const firstByte = await waitForReceiver(ctx.receiver, Object.keys(sentAt).length);
      // Deliveries still arriving long after the last commit: the dispatcher fell behind the offered rate.
      const drainMs = Math.max(0, Math.max(...Object.values(firstByte)) - writesDone);
      await herald.call('stopDispatcher');
      // Where the time goes: from recordEvent (before commit) to the dispatcher starting the send, wall clock.
      const [split] = await sql<{ p50: number; p99: number }[]>`
        select percentile_cont(0.5) within group (order by ms) as p50, percentile_cont(0.99) within group (order by ms) as p99
        from (select extract(epoch from a.started_at - e.created_at) * 1000 as ms
              from events e join deliveries d on d.event_id = e.id join delivery_attempts a on a.delivery_id = d.id
              where e.created_at >= ${since}) t`;
      return { ...latencies(sentAt, firstByte), toSendP50: split?.p50, toSendP99: split?.p99, drainMs };
    };
    // The bare durable pipeline: commit a job, NOTIFY, claim, send (peers/bare-durable-listen.ts).
    const durable = await bareDurablePeer(bench.url);
    const durableRound = async (durationMs: number, tag: string): Promise<Percentiles> => {
      await durable.clear();
      await ctx.receiver.call('reset', { record: true });
      const count = Math.round((rate * durationMs) / 1000);
      const worker = await startChild('peers/bare-durable-listen.ts', 'latency-bare-durable');
      try {
        const args = { url: bench.url, queue: 'bare_jobs', count, concurrency: scale.concurrency };
        const running = worker.call<{ failures: number }>('run', {
          ...args,
          target: ctx.receiverUrl,
          secret: project.secret,
        });
        await sleep(500); // connected and listening before the first commit
        const sentAt = await writeBareJobs(sql, tag, rate, count);
        const run = await running;
        if (run.failures > 0) throw new Error(`latency: ${run.failures} bare durable sends failed`);
        return latencies(sentAt, await waitForReceiver(ctx.receiver, count));
      } finally {
        await worker.exit();
      }
    };
    const bareRound = async (durationMs: number, tag: string): Promise<Percentiles> => {
      await ctx.receiver.call('reset', { record: true });
      const run = await bare.call<{ sentAt: Record<string, number>; failures: number }>('pacedBare', {
        target: ctx.receiverUrl,
        secret: project.secret,
        rate,
        durationMs,
        tag,
      });
      if (run.failures > 0) throw new Error(`latency: ${run.failures} bare sends failed`);
      return latencies(run.sentAt, await waitForReceiver(ctx.receiver, Object.keys(run.sentAt).length));
    };

    await heraldRound(Math.min(1000, scale.latencyDurationMs));
    await bareRound(Math.min(1000, scale.latencyDurationMs), 'w');
    await durableRound(Math.min(1000, scale.latencyDurationMs), 'dw');
    const h: Percentiles[] = [];
    const b: Percentiles[] = [];
    const d: Percentiles[] = [];
    for (let round = 0; round < scale.rounds; round++) {
      for (const side of sides(round)) {
        if (side === 'herald') h.push(await heraldRound(scale.latencyDurationMs));
        else b.push(await bareRound(scale.latencyDurationMs, `r${round}`));
      }
      d.push(await durableRound(scale.latencyDurationMs, `d${round}`));
      ctx.log(
        `  round ${round + 1}: herald p50 ${fmt(h.at(-1)!.p50)} ms p99 ${fmt(h.at(-1)!.p99)} ms; ` +
          `bare p50 ${fmt(b.at(-1)!.p50)} ms p99 ${fmt(b.at(-1)!.p99)} ms (${h.at(-1)!.samples} samples; ` +
          `herald event→send start p50 ${fmt(h.at(-1)!.toSendP50!)} ms p99 ${fmt(h.at(-1)!.toSendP99!)} ms; ` +
          `last delivery ${fmt(h.at(-1)!.drainMs!, 0)} ms after the last commit); ` +
          `bare durable p50 ${fmt(d.at(-1)!.p50)} ms p99 ${fmt(d.at(-1)!.p99)} ms`,
      );
    }
    await durable.close();
    const detail = { eventsPerSecond: rate, maxRate, herald: h, bare: b, bareDurable: d };
    /** Herald's percentile `k` ÷ the baseline's, round by round. */
    const figure = (
      id: string,
      name: string,
      k: 'p50' | 'p99',
      base: { name: string; runs: Percentiles[] },
      goal: Figure['goal'],
    ): Figure => ({
      id,
      name,
      ratio: spread(
        ratios(
          h.map((x) => x[k]),
          base.runs.map((x) => x[k]),
        ),
      ),
      goal,
      absolute: `herald ${fmtSpread(spread(h.map((x) => x[k])), 1)} ms; ${base.name} ${fmtSpread(spread(base.runs.map((x) => x[k])), 2)} ms`,
      detail: id === '3a' ? detail : { eventsPerSecond: rate },
    });
    const bareBase = { name: 'bare', runs: b };
    const durableBase = { name: 'bare durable', runs: d };
    return [
      figure('3a', 'Event→delivery latency p50', 'p50', bareBase, null),
      figure('3b', 'Event→delivery latency p99', 'p99', bareBase, { op: '<=', value: 2 }),
      figure('3c', 'Event→delivery p50 ÷ bare durable', 'p50', durableBase, null),
      figure('3d', 'Event→delivery p99 ÷ bare durable', 'p99', durableBase, { op: '<=', value: 1.5 }),
    ];
  } finally {
    await wakeup.close();
    await writer.close();
    await herald.exit();
    await bare.exit();
    await sql.end({ timeout: 2 });
    await bench.drop();
  }
}

/**
 * Open loop: `rate` transactions a second, each recording one event (and its
 * delivery) as the API does; the clock starts when the commit is acknowledged.
 */
export async function writeEvents(
  writer: Awaited<ReturnType<typeof createDb>>,
  wakeup: ReturnType<typeof createDeliveryWakeup>,
  project: Project,
  rate: number,
  durationMs: number,
): Promise<Record<string, number>> {
  const data = userCreatedData();
  const committedAt: Record<string, number> = {};
  await paced(rate, Math.round((rate * durationMs) / 1000), () =>
    writer.db
      .transaction((tx) => recordEvent(tx, { projectId: project.projectId, type: 'user.created', data: data as never }))
      .then((recorded) => {
        committedAt[recorded.id] = monoMs();
        wakeup.notify();
      }),
  );
  return committedAt;
}

/** Open loop: starts `write(n)` for n = 0 … count − 1 at `rate` a second, whatever the earlier ones do; waits for all. */
async function paced(rate: number, count: number, write: (n: number) => Promise<void>): Promise<void> {
  const pending: Promise<void>[] = [];
  const started = monoMs();
  let n = 0;
  while (n < count) {
    const due = Math.min(count, Math.floor(((monoMs() - started) * rate) / 1000) + 1);
    for (; n < due; n++) pending.push(write(n));
    await sleep(1);
  }
  await Promise.all(pending);
}

/**
 * The bare durable pipeline's writer: `count` jobs at `rate` a second, each committed on its own
 * and then announced with a NOTIFY (no coalescing); the clock starts when the commit is
 * acknowledged, as `writeEvents`' does.
 */
async function writeBareJobs(
  sql: ReturnType<typeof connect>,
  tag: string,
  rate: number,
  count: number,
): Promise<Record<string, number>> {
  const data = userCreatedData();
  const committedAt: Record<string, number> = {};
  await paced(rate, count, async (n) => {
    const job: WebhookJob = { eventId: `evt_lat_${tag}_${n}`, data };
    await sql`insert into bare_jobs (payload) values (${sql.json(job as never)})`;
    committedAt[job.eventId] = monoMs();
    await sql`select pg_notify('bare_jobs', '')`;
  });
  return committedAt;
}
