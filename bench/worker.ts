/**
 * One side of a comparison, in its own process: the Herald dispatcher, the
 * bare sending loop, or event writers. `run.ts` starts a Herald worker and a
 * bare worker per benchmark; `--profile` runs the Herald one under --cpu-prof.
 */
import { createPlatform } from '@herald/api';
import type { HeraldDb } from '@herald/db';
import { createDb, genericPlannerOf, projects } from '@herald/db';
import type { Dispatcher } from '@herald/delivery';
import { createDeliveryWakeup, recordEvent } from '@herald/delivery';
import { serveCommands } from './lib/child';
import { cpuMark, cpuSince, poolBackends } from './lib/cpu';
import { userCreatedData } from './lib/fixtures';
import { median, monoMs, sleep } from './lib/stats';
import { bareSender, signedMessage } from './lib/webhook';

type DispatcherHandle = { herald: HeraldDb; dispatcher: Dispatcher; pool: number; close(): Promise<void> };

async function openDispatcher(url: string, concurrency: number, batchSize: number): Promise<DispatcherHandle> {
  // main.ts's pool (10); BENCH_DISPATCH_POOL tries others, to see whether the pool is what bounds a figure.
  const pool = Number(process.env.BENCH_DISPATCH_POOL || 10);
  const platform = await createPlatform({
    database: { url, migrate: false, maxConnections: pool },
    // No history maintenance: it would run at start with the real clock (growth runs it itself).
    dispatcher: { concurrency, batchSize, allowPrivateNetworks: true, maintenanceIntervalMs: 0 },
    startDispatcher: false,
  });
  const herald = platform.herald;
  // Open the pool's connections before any clock starts.
  await Promise.all(Array.from({ length: pool }, () => herald.sql!`select 1`));
  await genericPlannerOf(herald.db)?.select().from(projects).limit(1); // and the claim's connection (its CPU counts too)
  return { herald, dispatcher: platform.dispatcher!, pool, close: () => platform.close() };
}

let running: DispatcherHandle | null = null;

serveCommands({
  /** Herald: run a dispatcher until every due delivery is done. */
  async dispatch(args) {
    const handle = await openDispatcher(args.url, args.concurrency, args.batchSize);
    const idleRssMb = process.memoryUsage.rss() / 2 ** 20;
    const rss: Array<{ at: number; mb: number }> = [];
    const sampler = setInterval(() => rss.push({ at: monoMs(), mb: process.memoryUsage.rss() / 2 ** 20 }), 100);
    const cpu = cpuMark(await poolBackends(handle.herald.sql!));
    const started = monoMs();
    await handle.dispatcher.start();
    await handle.dispatcher.idle();
    const elapsedMs = monoMs() - started;
    const { processUs, backendUs } = cpuSince(cpu);
    clearInterval(sampler);
    const succeeded = handle.dispatcher.metrics.outcomeCount('succeeded');
    await handle.close();
    // Steady state: the second half of the run.
    const steady = rss.filter((s) => s.at >= started + elapsedMs / 2).map((s) => s.mb);
    return {
      elapsedMs,
      rssMb: median(steady.length ? steady : rss.map((s) => s.mb)),
      idleRssMb,
      succeeded,
      pool: handle.pool,
      processUs,
      backendUs,
    };
  },

  /** Bare: the same sender, concurrency, signed 1 KB bodies and receiver; no database. */
  async bareSend(args) {
    const sender = bareSender();
    const data = userCreatedData();
    const total: number = args.count;
    let next = 0;
    let failures = 0;
    const cpu = process.cpuUsage();
    const started = monoMs();
    await Promise.all(
      Array.from({ length: args.concurrency }, async () => {
        while (next < total) {
          const id = `msg_bare${args.tag}${next++}`;
          const { headers, body } = signedMessage(id, args.secret, data);
          const result = await sender.send({ url: args.target, headers, body });
          if (!result.ok) failures++;
        }
      }),
    );
    const elapsedMs = monoMs() - started;
    const { user, system } = process.cpuUsage(cpu);
    await sender.close();
    return { elapsedMs, failures, processUs: user + system };
  },

  /** Bare, open loop: `rate` messages a second for `durationMs`; returns when each was handed to the sender. */
  async pacedBare(args) {
    const sender = bareSender();
    const data = userCreatedData();
    const sentAt: Record<string, number> = {};
    const inFlight: Promise<unknown>[] = [];
    let failures = 0;
    let n = 0;
    const started = monoMs();
    const total = Math.round((args.rate * args.durationMs) / 1000);
    while (n < total) {
      const due = Math.min(total, Math.floor(((monoMs() - started) * args.rate) / 1000) + 1);
      for (; n < due; n++) {
        const id = `msg_paced${args.tag}${n}`;
        const { headers, body } = signedMessage(id, args.secret, data);
        sentAt[id] = monoMs();
        inFlight.push(sender.send({ url: args.target, headers, body }).then((r) => r.ok || failures++));
      }
      await sleep(1);
    }
    await Promise.all(inFlight);
    await sender.close();
    return { sentAt, failures };
  },

  /** Herald: a dispatcher that keeps running (latency, polling) until stopDispatcher. */
  async startDispatcher(args) {
    running = await openDispatcher(args.url, args.concurrency, args.batchSize);
    await running.dispatcher.start();
    return { rssMb: process.memoryUsage.rss() / 2 ** 20 };
  },
  async stopDispatcher() {
    const rssMb = process.memoryUsage.rss() / 2 ** 20;
    await running?.close();
    running = null;
    return { rssMb };
  },

  /** `writers` loops committing one event each per transaction; `notify` wakes dispatchers after each commit. */
  async writeEvents(args) {
    const herald = await createDb({ url: args.url, migrate: false, maxConnections: args.writers });
    await Promise.all(Array.from({ length: args.writers }, () => herald.sql!`select 1`));
    const wakeup = createDeliveryWakeup(herald);
    const data = userCreatedData();
    let commits = 0;
    const started = monoMs();
    const deadline = started + args.durationMs;
    await Promise.all(
      Array.from({ length: args.writers }, async () => {
        while (monoMs() < deadline) {
          const recorded = await herald.db.transaction((tx) =>
            recordEvent(tx, { projectId: args.projectId, type: 'user.created', data: data as never }),
          );
          commits++;
          if (args.notify && recorded.deliveryCount > 0) wakeup.notify();
        }
      }),
    );
    const elapsedMs = monoMs() - started;
    await sleep(20); // let a pending coalesced NOTIFY go out before the pool closes
    await wakeup.close();
    await herald.close();
    return { commits, elapsedMs };
  },

  async exit() {
    await running?.close();
  },
});
