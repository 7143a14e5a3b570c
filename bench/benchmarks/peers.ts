/**
 * Figure 9: Herald's dispatcher against what a team would build webhooks on
 * instead (graphile-worker, pg-boss, BullMQ), a bare durable loop with
 * Herald's guarantees, and a bare sign-and-send loop with no queue. The same
 * workload for each: a backlog of signed ~1 KB webhooks to the shared
 * receiver, 64 in flight, an attempt row per send for the durable ones.
 * Each run enqueues its backlog (not timed), then a fresh worker process
 * drains it; each contender has a database of its own; the order rotates
 * every round.
 */
import type { Child } from '../lib/child';
import { startChild } from '../lib/child';
import type { BenchContext, Figure, Scale } from '../lib/context';
import { machineMark, machineSince } from '../lib/cpu';
import { connect, seedProject } from '../lib/fixtures';
import type { BenchDatabase } from '../lib/pg';
import { createBenchDatabase, vacuumDatabase, xactCommits } from '../lib/pg';
import type { Spread } from '../lib/stats';
import { fmt, fmtSpread, median, sleep, spread } from '../lib/stats';
import type { PeerRunArgs, PeerRunResult } from '../peers/common';
import type { QueuePeer } from '../peers/queues';
import {
  bareDurablePeer,
  bullmqPeer,
  graphileWorkerPeer,
  installedVersion,
  pgBossPeer,
  webhookJobs,
} from '../peers/queues';
import { bareDispatchRun, heraldDispatch } from './dispatch';

const names = ['herald', 'graphileWorker', 'pgBoss', 'bullmq', 'bareDurable', 'bareMemory'] as const;
type Name = (typeof names)[number];
/** The peers Herald must beat by 1.25×: what a team would otherwise build on. */
const queuePeers: Name[] = ['graphileWorker', 'pgBoss', 'bullmq'];

interface Run {
  rate: number;
  /** null where no PostgreSQL is involved (bareMemory). */
  commitsPerDelivery: number | null;
  workerCpuUs: number;
  /** The whole machine's busy CPU µs per delivery around the worker's run (its setup included), and its busy share of the cores. */
  machineCpuUs: number;
  machineBusy: number;
  /** The backlog's size (set by the round loop). */
  count?: number;
}

interface Contender {
  version: string;
  run(count: number, tag: string): Promise<Run>;
  close(): Promise<void>;
}

/** One run of a queue peer: enqueue, drain in a fresh process, check that everything was done and logged. */
async function queuePeerRun(
  ctx: BenchContext,
  peer: QueuePeer,
  db: BenchDatabase,
  secret: string,
  count: number,
  tag: string,
) {
  await peer.enqueue(webhookJobs(count, tag));
  await ctx.receiver.call('reset', { record: false });
  const commitsBefore = await xactCommits(db.url);
  const worker = await startChild(peer.file, `peers-${peer.name}`);
  let result: PeerRunResult;
  let machineRun: ReturnType<typeof machineSince>;
  const machine = machineMark();
  try {
    const args: PeerRunArgs = {
      url: db.url,
      queue: peer.queue,
      count,
      concurrency: ctx.scale.concurrency,
      target: ctx.receiverUrl,
      secret,
    };
    result = await worker.call<PeerRunResult>('run', args as unknown as Record<string, unknown>);
    machineRun = machineSince(machine);
  } finally {
    await worker.exit();
  }
  const { busyUs, busyShare } = machineRun;
  await sleep(100); // the worker's backends flush their counters as they exit
  // Less our own read before the run; the queue's own polling is counted, as it is Herald's.
  const commits = (await xactCommits(db.url)) - commitsBefore - 1;
  const completed = await peer.completed(count);
  const attempts = await peer.clear();
  await vacuumDatabase(db.url);
  const { count: received } = await ctx.receiver.call<{ count: number }>('stats');
  if (result.failures > 0 || completed !== count || attempts < count || received < count)
    throw new Error(
      `peers ${peer.name}: ${count} jobs, ${completed} completed, ${attempts} attempt rows, receiver saw ${received}, ${result.failures} failed sends`,
    );
  return {
    rate: (count * 1000) / result.elapsedMs,
    commitsPerDelivery: commits / count,
    workerCpuUs: result.processUs / count,
    machineCpuUs: busyUs / count,
    machineBusy: busyShare,
  };
}

async function queueContender(
  ctx: BenchContext,
  name: Name,
  make: (url: string) => Promise<QueuePeer>,
  secret: string,
) {
  const db = await createBenchDatabase(`peers_${name}`);
  const peer = await make(db.url);
  return {
    version: peer.version,
    run: (count: number, tag: string) => queuePeerRun(ctx, peer, db, secret, count, tag),
    async close() {
      await peer.close();
      await db.drop();
    },
  } satisfies Contender;
}

/** Herald's dispatcher (the dispatch benchmark's run), in a fresh worker process per run. */
async function heraldContender(ctx: BenchContext) {
  const db = await createBenchDatabase('peers_herald');
  const sql = connect(db.url);
  const project = await seedProject(sql, ctx.receiverUrl);
  const contender: Contender = {
    version: installedVersion('@herald/delivery'),
    async run(count) {
      const worker: Child = await startChild('worker.ts', 'peers-herald', { profile: ctx.profile === 'peers' });
      try {
        return await heraldDispatch(ctx, worker, { url: db.url, sql, project }, count);
      } finally {
        await worker.exit();
        await vacuumDatabase(db.url);
      }
    },
    async close() {
      await sql.end({ timeout: 2 });
      await db.drop();
    },
  };
  return { contender, secret: project.secret! };
}

/** The bare loop of the dispatch benchmark: sign + send, no queue, no database. */
function bareMemoryContender(ctx: BenchContext, secret: string): Contender {
  return {
    version: '',
    async run(count, tag) {
      const worker = await startChild('worker.ts', 'peers-bare-memory');
      try {
        return { ...(await bareDispatchRun(ctx, worker, secret, count, tag)), commitsPerDelivery: null };
      } finally {
        await worker.exit();
      }
    },
    close: async () => {},
  };
}

/** A backlog lasting about 1.2 × `dispatchSeconds` at `rate`, within [dispatchMin, 5 × dispatchMax]. */
function backlogFor(scale: Scale, rate: number): number {
  const wanted = Math.round((rate * scale.dispatchSeconds * 1.2) / 100) * 100;
  return Math.min(5 * scale.dispatchMax, Math.max(scale.dispatchMin, wanted));
}

/** Round `round`'s order: the list rotated by one more each round. */
function rotated(round: number): Name[] {
  const k = round % names.length;
  return [...names.slice(k), ...names.slice(0, k)];
}

export async function peersBench(ctx: BenchContext): Promise<Figure[]> {
  const { scale } = ctx;
  const contenders = new Map<Name, Contender>();
  try {
    const herald = await heraldContender(ctx);
    contenders.set('herald', herald.contender);
    contenders.set('graphileWorker', await queueContender(ctx, 'graphileWorker', graphileWorkerPeer, herald.secret));
    contenders.set('pgBoss', await queueContender(ctx, 'pgBoss', pgBossPeer, herald.secret));
    contenders.set('bullmq', await queueContender(ctx, 'bullmq', bullmqPeer, herald.secret));
    contenders.set('bareDurable', await queueContender(ctx, 'bareDurable', bareDurablePeer, herald.secret));
    contenders.set('bareMemory', bareMemoryContender(ctx, herald.secret));

    // Warm-up runs (not counted) size each contender's backlog for a run of at least `dispatchSeconds`.
    const counts = {} as Record<Name, number>;
    for (const name of names) {
      const warm = await contenders.get(name)!.run(scale.dispatchMin, 'w');
      counts[name] = backlogFor(scale, warm.rate);
    }
    ctx.log(`  backlog per run: ${names.map((n) => `${n} ${counts[n]}`).join(', ')}`);

    const runs = Object.fromEntries(names.map((n) => [n, [] as Run[]])) as Record<Name, Run[]>;
    const fastestPeerRatios: number[] = [];
    const bareDurableRatios: number[] = [];
    for (let round = 0; round < scale.rounds; round++) {
      for (const name of rotated(round)) {
        const run = await contenders.get(name)!.run(counts[name], `r${round}`);
        runs[name].push({ ...run, count: counts[name] });
        // A run shorter than `dispatchSeconds` (the warm-up ran slower): later rounds get a larger backlog.
        if (counts[name] / run.rate < scale.dispatchSeconds) counts[name] = backlogFor(scale, run.rate);
      }
      const rate = (n: Name) => runs[n].at(-1)!.rate;
      fastestPeerRatios.push(rate('herald') / Math.max(...queuePeers.map(rate)));
      bareDurableRatios.push(rate('herald') / rate('bareDurable'));
      ctx.log(`  round ${round + 1}: ${names.map((n) => `${n} ${fmt(rate(n), 0)}/s`).join(', ')}`);
    }
    return figures(runs, contenders, fastestPeerRatios, bareDurableRatios);
  } finally {
    for (const contender of contenders.values()) await contender.close().catch((error) => console.error(error));
  }
}

function figures(
  runs: Record<Name, Run[]>,
  contenders: Map<Name, Contender>,
  fastestPeerRatios: number[],
  bareDurableRatios: number[],
): Figure[] {
  const summary = (name: Name) => {
    const r = runs[name];
    const commits = r.map((x) => x.commitsPerDelivery).filter((x): x is number => x !== null);
    return {
      ...spread(r.map((x) => x.rate)),
      perSecond: r.map((x) => x.rate),
      commitsPerDelivery: commits.length ? spread(commits) : null,
      workerCpuUs: spread(r.map((x) => x.workerCpuUs)),
      machineCpuUs: spread(r.map((x) => x.machineCpuUs)),
      machineBusy: spread(r.map((x) => x.machineBusy)),
      deliveriesPerRun: r.map((x) => x.count),
      version: contenders.get(name)!.version,
    };
  };
  const peers = Object.fromEntries(names.map((n) => [n, summary(n)])) as Record<Name, ReturnType<typeof summary>>;
  const fastest = queuePeers.reduce((a, b) => (peers[b].median > peers[a].median ? b : a));
  const rate = (s: Spread) => `${fmtSpread(s, 0)}/s`;
  return [
    {
      id: '9a',
      name: 'Herald ÷ fastest job-queue peer',
      ratio: spread(fastestPeerRatios),
      goal: { op: '>=', value: 1.25 },
      absolute: `herald ${rate(peers.herald)}; fastest peer by median: ${fastest} ${rate(peers[fastest])} (ratio per round against that round's fastest)`,
      detail: { peers },
    },
    {
      id: '9b',
      name: 'Herald ÷ bare durable loop',
      ratio: spread(bareDurableRatios),
      goal: { op: '>=', value: 0.9 },
      absolute: `herald ${rate(peers.herald)}; bareDurable ${rate(peers.bareDurable)}`,
      detail: { perRound: bareDurableRatios },
    },
    ...names.map((name) => {
      const p = peers[name];
      return {
        id: '·',
        name: `peers: ${name}${p.version ? ` ${p.version}` : ''}`,
        ratio: null,
        goal: null,
        absolute:
          `${rate(p)}; commits/delivery ${p.commitsPerDelivery ? fmt(p.commitsPerDelivery.median, 3) : '–'}; ` +
          `worker CPU ${fmt(p.workerCpuUs.median, 0)} µs/delivery; ` +
          `machine CPU ${fmt(p.machineCpuUs.median, 0)} µs/delivery, ${fmt(p.machineBusy.median * 100, 0)} % busy; ${[...new Set(p.deliveriesPerRun)].join('/')} per run`,
        detail: { perSecond: p.perSecond, median: median(p.perSecond) },
      } satisfies Figure;
    }),
  ];
}
