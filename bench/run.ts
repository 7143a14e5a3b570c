/**
 * `pnpm bench [--quick] [--only a,b] [--profile <name>]`
 *
 * Runs the benchmarks against a real PostgreSQL (BENCH_DATABASE_URL or
 * DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test as the admin
 * connection), prints the table and writes bench/results/<date>.json.
 */
import { parseArgs } from 'node:util';
import { apiBench } from './benchmarks/api';
import { dispatchBench } from './benchmarks/dispatch';
import { fairnessBench } from './benchmarks/fairness';
import { fifoBench } from './benchmarks/fifo';
import { growthBench } from './benchmarks/growth';
import { latencyBench } from './benchmarks/latency';
import { peersBench } from './benchmarks/peers';
import { pollingBench } from './benchmarks/polling';
import { wakeupBench } from './benchmarks/wakeup';
import { buildHerald, heraldFrom, killChildren, profileDir, startChild } from './lib/child';
import type { BenchContext, Figure } from './lib/context';
import { fullScale, meets, quickScale } from './lib/context';
import {
  adminUrl,
  BenchSetupError,
  checkPostgres,
  createBenchDatabase,
  dropAllBenchDatabases,
  probeCommitRate,
} from './lib/pg';
import { summarizeProfiles } from './lib/profile';
import { machine, renderTable, writeResults } from './lib/report';
import { fmt } from './lib/stats';

const benchmarks: Record<string, (ctx: BenchContext) => Promise<Figure[]>> = {
  dispatch: dispatchBench,
  api: apiBench,
  latency: latencyBench,
  fairness: fairnessBench,
  fifo: fifoBench,
  wakeup: wakeupBench,
  growth: growthBench,
  polling: pollingBench,
  peers: peersBench,
};

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    profile: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(`pnpm bench [--quick] [--only ${Object.keys(benchmarks).join(',')}] [--profile <benchmark>]`);
  process.exit(0);
}

const names = values.profile
  ? [values.profile]
  : values.only
    ? values.only.split(',').map((s) => s.trim())
    : Object.keys(benchmarks);
for (const name of names) {
  if (!benchmarks[name]) {
    console.error(`Unknown benchmark "${name}"; choose from ${Object.keys(benchmarks).join(', ')}.`);
    process.exit(2);
  }
}

let interrupted = false;
async function cleanUp() {
  killChildren();
  await dropAllBenchDatabases();
}
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  console.error('\nInterrupted: dropping the bench databases…');
  void cleanUp().finally(() => process.exit(130));
});

async function main() {
  const started = Date.now();
  let version: string;
  try {
    version = await checkPostgres();
  } catch (error) {
    if (error instanceof BenchSetupError) {
      console.error(`\n${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  buildHerald();
  const scale = values.quick ? quickScale : fullScale;
  const host = machine();
  console.log(
    `Herald bench${values.quick ? ' --quick' : ''}: PostgreSQL ${version} at ${new URL(adminUrl).host}; ` +
      `${host.cpus} × ${host.cpuModel}, Node ${host.node}, load average ${host.loadAverage.join(' ')}`,
  );
  console.log(
    heraldFrom === 'dist'
      ? "Herald's processes run its build (dist), as in production; BENCH_HERALD_FROM=src runs its TypeScript sources through tsx."
      : "Herald's processes run its TypeScript sources through tsx (BENCH_HERALD_FROM=src), not its build.",
  );
  if (values.quick) console.log('(--quick: scaled down to show the harness works; the figures mean little)');
  const probe = await createBenchDatabase('probe');
  const commitRate = await probeCommitRate(probe.url);
  await probe.drop();
  console.log(
    `Machine probe: ${fmt(commitRate, 0)} single-row commits/s from one client (fsync-bound work scales with this).`,
  );

  const receiver = await startChild('receiver.ts', 'receiver');
  const ctx: BenchContext = {
    scale,
    profile: values.profile ?? null,
    receiver,
    receiverUrl: String(receiver.ready.url),
    shared: {},
    log: (m) => console.log(m),
  };
  const figures: Figure[] = [];
  const timings: Record<string, number> = {};
  try {
    for (const name of names) {
      const t = Date.now();
      console.log(`\n▶ ${name}`);
      figures.push(...(await benchmarks[name]!(ctx)));
      timings[name] = Math.round((Date.now() - t) / 1000);
      console.log(`  (${timings[name]} s)`);
    }
  } finally {
    await receiver.exit();
    await dropAllBenchDatabases();
  }

  const seconds = Math.round((Date.now() - started) / 1000);
  console.log(`\n${renderTable(figures)}\n`);
  console.log(
    `Finished in ${seconds} s (${Object.entries(timings)
      .map(([n, s]) => `${n} ${s} s`)
      .join(', ')}).`,
  );
  const file = writeResults({
    date: new Date().toISOString(),
    quick: values.quick,
    machine: { ...host, loadAverageAtEnd: machine().loadAverage },
    postgres: version,
    commitsPerSecondOneClient: commitRate,
    heraldFrom,
    scale,
    seconds,
    timings,
    figures: figures.map((f) => ({ ...f, met: meets(f) })),
    // peers.<name>.median (deliveries/s) and the rest of each contender's figures, when peers ran.
    peers: figures.find((f) => f.detail.peers)?.detail.peers,
  });
  console.log(`Results written to ${file}`);
  if (values.profile) {
    console.log(`\nCPU profile of the Herald side (${profileDir}):\n`);
    console.log(summarizeProfiles(profileDir, started));
  }
}

main().catch(async (error) => {
  console.error(error);
  await cleanUp();
  process.exit(1);
});
