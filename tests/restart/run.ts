/**
 * PostgreSQL restarts under load (issue 10, "Delivery isolation").
 *
 * Each run: a fresh database; an API process (HERALD_DISPATCHER=off) and two
 * dispatcher processes, started from apps/api and apps/dispatcher as real
 * child processes; a receiver on 127.0.0.1 that answers 200 and records
 * webhook-ids. Ten clients create users (one `user.created` event each)
 * through the API, each POST with an Idempotency-Key, retried with the same
 * key on 503, 429 and network errors, each request bounded at 10 s. Midway,
 * PostgreSQL is restarted (`pg_ctlcluster … restart -m fast`), twice. Then
 * the run waits until every delivery succeeded and checks: no Herald process
 * exited, no request waited 10 s, no answer other than success, 503 or 429,
 * one user per logical request, every event received, every delivery
 * `succeeded`, none `failed`, `/readyz` answering within its bound, and "not ready" whenever the
 * database was away longer than that bound.
 *
 *   node --import tsx tests/restart/run.ts [--runs N] [--events N] [--clients N] [--restarts N]
 *                                          [--cluster 15/main] [--run-timeout 240s]
 *
 * TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) names the server; the
 * cluster restarted is `--cluster` (default: the version under /etc/postgresql, cluster main).
 * One summary line per run; exit status 1 if any run broke a rule.
 */
import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { processIsAlive } from '@herald/db';
import postgres from 'postgres';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- options

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '1' },
    events: { type: 'string', default: '2000' },
    clients: { type: 'string', default: '10' },
    restarts: { type: 'string', default: '2' },
    cluster: { type: 'string' },
    'run-timeout': { type: 'string', default: '240s' },
  },
});
const positive = (name: string, text: string | undefined) => {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be a whole number, got ${text}`);
  return value;
};
const RUNS = positive('runs', args.runs);
const EVENTS = positive('events', args.events);
const CLIENTS = Math.max(1, positive('clients', args.clients));
const RESTARTS = positive('restarts', args.restarts);
const RUN_TIMEOUT_MS = positive('run-timeout', /^(\d+)s$/.exec(args['run-timeout'] ?? '')?.[1]) * 1000;
/** A request that takes longer is a failure of the run (and is retried). */
const REQUEST_TIMEOUT_MS = 10_000;
/** After the last user is created, every delivery must succeed within this. */
const SETTLE_TIMEOUT_MS = 60_000;

const serverUrl = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const [clusterVersion, clusterName] = (args.cluster ?? `${newestPostgresVersion()}/main`).split('/') as [
  string,
  string,
];

function newestPostgresVersion(): string {
  const versions = readdirSync('/etc/postgresql').filter((v) => /^\d+$/.test(v));
  if (versions.length === 0) throw new Error('no PostgreSQL cluster under /etc/postgresql; pass --cluster');
  return versions.sort((a, b) => Number(b) - Number(a))[0]!;
}

// The apps, found as packages rather than by a path into apps/.
const require = createRequire(import.meta.url);
const apiDir = path.dirname(require.resolve('@herald/api/package.json'));
const dispatcherDir = path.dirname(require.resolve('@herald/dispatcher/package.json'));

// ---------------------------------------------------------------- processes

interface HeraldProcess {
  name: string;
  child: ChildProcess;
  /** The last lines it printed (pino JSON), for the report of a failed run. */
  tail(): string;
  /** Set when it exited, whoever asked. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
  /** Resolves with the first output line containing `text`. */
  waitFor(text: string, timeoutMs: number): Promise<string>;
  stop(): Promise<void>;
}

/** Every Herald process still running, killed if a run overruns its bound. */
const live = new Set<ChildProcess>();

function start(name: string, cwd: string, env: Record<string, string>): HeraldProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd,
    env: { ...process.env, HERALD_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a stop reaches anything it started.
    detached: true,
  });
  const lines: string[] = [];
  const waiters: Array<{ text: string; resolve(line: string): void }> = [];
  let partial = '';
  const onData = (chunk: Buffer) => {
    const text = partial + chunk.toString('utf8');
    const complete = text.split('\n');
    partial = complete.pop() ?? '';
    for (const line of complete) {
      lines.push(line);
      if (lines.length > 200) lines.shift();
      for (const w of [...waiters]) {
        if (line.includes(w.text)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      proc.exit = { code, signal };
      resolve();
    });
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  const proc: HeraldProcess = {
    name,
    child,
    exit: null,
    tail: () => [...lines, partial].filter(Boolean).slice(-40).join('\n'),
    waitFor: (text, timeoutMs) =>
      new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name}: no "${text}" within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          text,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        void exited.then(() => reject(new Error(`${name} exited before "${text}":\n${proc.tail()}`)));
      }),
    async stop() {
      if (proc.exit) return;
      child.kill('SIGTERM');
      const killed = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 10_000);
      await exited;
      clearTimeout(killed);
    },
  };
  return proc;
}

// ---------------------------------------------------------------- receiver

async function startReceiver() {
  const received = new Map<string, number>();
  const arrivals: number[] = [];
  let requests = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['webhook-id'] ?? '');
      requests += 1;
      received.set(id, (received.get(id) ?? 0) + 1);
      arrivals.push(Date.now());
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    received,
    requests: () => requests,
    /** First arrival at or after `at`, or null. */
    firstArrivalAfter: (at: number) => arrivals.find((t) => t >= at) ?? null,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------- one run

interface RunResult {
  line: string;
  violations: string[];
}

async function oneRun(index: number): Promise<RunResult> {
  // Each distinct violation once, with how often it happened.
  const seen = new Map<string, number>();
  const violate = (message: string) => {
    if (seen.size < 50 || seen.has(message)) seen.set(message, (seen.get(message) ?? 0) + 1);
  };
  const violations = {
    get length() {
      return seen.size;
    },
    list: () => [...seen].map(([message, n]) => (n > 1 ? `${message} (${n} times)` : message)),
  };
  /** Set when a Herald process died: the run has failed, and stops at once. */
  let died = false;
  const database = `herald_restart_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${database}`);
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  const databaseUrl = url.toString();
  const adminToken = `admin_${randomBytes(12).toString('hex')}`;
  const receiver = await startReceiver();
  const processes: HeraldProcess[] = [];
  let stopping = false;
  let readyzPolling = true;
  const runDeadline = Date.now() + RUN_TIMEOUT_MS;

  try {
    const common = { DATABASE_URL: databaseUrl, HERALD_ALLOW_PRIVATE_NETWORKS: '1' };
    const port = await freePort();
    const api = start('api', apiDir, {
      ...common,
      PORT: String(port),
      HOST: '127.0.0.1',
      HERALD_DISPATCHER: 'off',
      HERALD_ADMIN_TOKEN: adminToken,
      HERALD_RATE_LIMIT_REQUESTS: '100000',
    });
    processes.push(api);
    const apiUrl = `http://127.0.0.1:${port}`;
    await waitForHealth(api, apiUrl);
    for (const n of [1, 2]) {
      const dispatcher = start(`dispatcher ${n}`, dispatcherDir, {
        ...common,
        // Info, for its "running" line; it logs little else while deliveries succeed.
        HERALD_LOG_LEVEL: 'info',
        METRICS_PORT: '0',
        HERALD_POLL_INTERVAL: '250ms',
        HERALD_REQUEST_TIMEOUT: '3s',
        HERALD_LEASE: '6s',
      });
      processes.push(dispatcher);
    }
    await Promise.all(processes.slice(1).map((p) => p.waitFor('Herald dispatcher running', 60_000)));
    for (const p of processes) {
      p.child.once('exit', (code, signal) => {
        if (stopping) return;
        died = true;
        violate(`${p.name} exited (code ${code}, signal ${signal}):\n${p.tail()}`);
      });
    }

    // A project, its key and one endpoint: the receiver.
    const created = (await (
      await fetch(`${apiUrl}/v1/projects`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'restart test' }),
      })
    ).json()) as { apiKey: { key: string } };
    const apiKey = created.apiKey.key;
    const endpoint = await fetch(`${apiUrl}/v1/endpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: receiver.url }),
    });
    if (endpoint.status !== 201) throw new Error(`endpoint creation answered ${endpoint.status}`);

    // /readyz, polled throughout: it must say "not ready" while the database is away, and never hang.
    const readyz = { unavailable: 0, slowest: 0, answers: [] as Array<{ from: number; to: number; status: number }> };
    const pollReadyz = (async () => {
      while (readyzPolling) {
        const from = Date.now();
        try {
          const response = await fetch(`${apiUrl}/readyz`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
          await response.arrayBuffer();
          readyz.answers.push({ from, to: Date.now(), status: response.status });
          if (response.status === 503) readyz.unavailable += 1;
        } catch (error) {
          violate(`/readyz failed: ${(error as Error).message}`);
        }
        readyz.slowest = Math.max(readyz.slowest, Date.now() - from);
        await sleep(50);
      }
    })();
    // When the database itself was away: a fresh connection and `select 1` every 100 ms.
    const probes: Array<{ at: number; ok: boolean }> = [];
    const probing = (async () => {
      while (readyzPolling) {
        const at = Date.now();
        const probe = postgres(databaseUrl, { max: 1, connect_timeout: 1, fetch_types: false, onnotice: () => {} });
        const ok = await probe`select 1`.then(
          () => true,
          () => false,
        );
        probes.push({ at, ok });
        await probe.end({ timeout: 0 }).catch(() => {});
        await sleep(100);
      }
    })();

    // The clients: user i is created with Idempotency-Key user-i, retried with the same key until it succeeds.
    const stats = { created: 0, requests: 0, unavailable: 0, rateLimited: 0, networkErrors: 0, maxWaitMs: 0 };
    let next = 0;
    const answers = new Map<string, number>();
    const count = (answer: string) => answers.set(answer, (answers.get(answer) ?? 0) + 1);
    const createUser = async (i: number) => {
      const body = JSON.stringify({ email: `user-${i}@restart.test`, name: `user ${i}` });
      let last = 'none';
      for (;;) {
        if (died) return;
        if (Date.now() > runDeadline) {
          violate(`user ${i} never created before the run's deadline; last answer: ${last}`);
          return;
        }
        const started = Date.now();
        let retryAfterMs = 200;
        try {
          stats.requests += 1;
          const response = await fetch(`${apiUrl}/v1/users`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${apiKey}`,
              'content-type': 'application/json',
              'idempotency-key': `user-${i}`,
            },
            body,
            signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          });
          const text = await response.text();
          stats.maxWaitMs = Math.max(stats.maxWaitMs, Date.now() - started);
          last = `${response.status} ${text.slice(0, 160)}`;
          count(String(response.status));
          if (response.status === 201) {
            stats.created += 1;
            return;
          }
          if (response.status === 503 || response.status === 429) {
            if (response.status === 503) stats.unavailable += 1;
            else stats.rateLimited += 1;
            if (!response.headers.get('retry-after')) violate(`${response.status} without Retry-After`);
            retryAfterMs = Number(response.headers.get('retry-after') ?? 1) * 1000;
          } else {
            // Not an answer a retry can change: the run has failed; move on to the next user.
            violate(`user ${i}: unexpected ${response.status} ${text.slice(0, 200)}`);
            return;
          }
        } catch (error) {
          const waited = Date.now() - started;
          stats.maxWaitMs = Math.max(stats.maxWaitMs, waited);
          last = `${(error as Error).name}: ${(error as Error).message} ${String((error as { cause?: unknown }).cause ?? '')}`;
          count((error as Error).name);
          if ((error as Error).name === 'TimeoutError') violate(`user ${i}: request waited more than 10 s`);
          else stats.networkErrors += 1;
        }
        await sleep(retryAfterMs);
      }
    };
    const clients = Array.from({ length: CLIENTS }, async () => {
      while (next < EVENTS && !died) await createUser(next++);
    });

    // The restarts, spread over the load: after 1/(R+1), 2/(R+1), … of the users.
    const restarts: Array<{ began: number; back: number; ms: number; resumedMs: number | null }> = [];
    const restarting = (async () => {
      for (let r = 0; r < RESTARTS; r++) {
        const at = Math.floor((EVENTS * (r + 1)) / (RESTARTS + 1));
        while (stats.created < at && next < EVENTS && !died) await sleep(20);
        if (died) return;
        const began = Date.now();
        await run('pg_ctlcluster', ['--skip-systemctl-redirect', clusterVersion, clusterName, 'restart', '-m', 'fast']);
        const back = Date.now();
        restarts.push({ began, back, ms: back - began, resumedMs: null });
        // When deliveries resumed: the first webhook to arrive after the database is back.
        void (async () => {
          const until = Date.now() + 30_000;
          while (Date.now() < until) {
            const arrival = receiver.firstArrivalAfter(back);
            if (arrival !== null) {
              restarts[r]!.resumedMs = arrival - back;
              return;
            }
            await sleep(50);
          }
        })();
      }
    })();

    await Promise.all([...clients, restarting]);

    // Every delivery succeeds, within a bound.
    const runDb = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    try {
      const settleBy = Math.min(Date.now() + SETTLE_TIMEOUT_MS, runDeadline);
      let statuses: Record<string, number> = {};
      for (;;) {
        const rows = await runDb<{ status: string; n: number }[]>`
          select status, count(*)::int as n from deliveries group by status`;
        statuses = Object.fromEntries(rows.map((r) => [r.status, r.n]));
        const total = Object.values(statuses).reduce((a, b) => a + b, 0);
        if (total >= EVENTS && (statuses.succeeded ?? 0) + (statuses.failed ?? 0) === total) break;
        if (Date.now() > settleBy || died) {
          violate(`deliveries not settled in time: ${JSON.stringify(statuses)}`);
          break;
        }
        await sleep(250);
      }
      await sleep(300); // let a late duplicate arrive before counting
      readyzPolling = false;
      await Promise.all([pollReadyz, probing]);

      const [{ users }] = (await runDb`select count(*)::int as users from users`) as unknown as [{ users: number }];
      const eventIds = (await runDb<{ id: string }[]>`select id from events where type = 'user.created'`).map(
        (r) => r.id,
      );
      const [{ disabled }] = (await runDb`
        select count(*)::int as disabled from endpoints where disabled`) as unknown as [{ disabled: number }];
      const lost = eventIds.filter((id) => !receiver.received.has(id)).length;
      const duplicates = receiver.requests() - receiver.received.size;
      const failed = statuses.failed ?? 0;

      if (users !== EVENTS) violate(`${users} users for ${EVENTS} logical requests`);
      if (eventIds.length !== EVENTS) violate(`${eventIds.length} user.created events for ${EVENTS} users`);
      if (lost > 0) violate(`${lost} events never reached the receiver`);
      if (failed > 0) violate(`${failed} deliveries failed`);
      if ((statuses.succeeded ?? 0) !== eventIds.length) {
        violate(`${statuses.succeeded ?? 0} deliveries succeeded for ${eventIds.length} events`);
      }
      if (disabled > 0) violate('the endpoint was disabled');
      if (stats.maxWaitMs > REQUEST_TIMEOUT_MS) violate(`a request waited ${stats.maxWaitMs} ms`);
      if (readyz.slowest > 5_000) violate(`/readyz took ${readyz.slowest} ms`);
      const away = restarts.map((r) => longestOutage(probes, r.began, r.back + 1_000));
      away.forEach((outage, i) => {
        // /readyz waits up to 2 s for the pool, which reconnects within a second: a shorter
        // outage may be ridden out; a longer one must be reported as "not ready".
        if (outage === null || outage.to - outage.from < 3_000) return;
        if (!readyz.answers.some((a) => a.from >= outage.from && a.from <= outage.to && a.status === 503)) {
          violate(`/readyz never said "unavailable" while the database was away (restart ${i + 1})`);
        }
      });
      restarts.forEach((r, i) => {
        if (r.resumedMs === null || r.resumedMs > 15_000) {
          violate(`deliveries did not resume within 15 s of restart ${i + 1}`);
        }
      });
      for (const p of processes) if (p.exit) violate(`${p.name} is not running`);

      const resumed = restarts.map((r) => (r.resumedMs === null ? '-' : `${(r.resumedMs / 1000).toFixed(1)}s`));
      const line =
        `run ${index}: events=${eventIds.length} received=${receiver.received.size} duplicates=${duplicates} ` +
        `failed=${failed} lost=${lost} max-request-wait=${stats.maxWaitMs}ms restarts=${restarts.length} ` +
        `(pg_ctlcluster ${restarts.map((r) => `${(r.ms / 1000).toFixed(1)}s`).join('/')}, database away ` +
        `${away.map((o) => (o === null ? '0s' : `${((o.to - o.from) / 1000).toFixed(1)}s`)).join('/')}, ` +
        `deliveries resumed ${resumed.join('/')} after) ` +
        `503s=${stats.unavailable} network-errors=${stats.networkErrors} requests=${stats.requests} ` +
        `readyz-503s=${readyz.unavailable} ${violations.length === 0 ? 'OK' : 'FAILED'}`;
      const report = violations.list();
      if (report.length > 0) {
        report.push(`answers to POST /v1/users: ${JSON.stringify(Object.fromEntries(answers))}`);
        for (const p of processes) report.push(`${p.name}, last lines:\n${p.tail()}`);
      }
      return { line, violations: report };
    } finally {
      await runDb.end({ timeout: 1 });
    }
  } finally {
    readyzPolling = false;
    stopping = true;
    await Promise.all(processes.map((p) => p.stop()));
    await receiver.close();
    await admin.unsafe(`drop database if exists ${database} with (force)`).catch(() => {});
    await admin.end({ timeout: 1 });
  }
}

/** The longest stretch of failed probes between `from` and `to` (first failure to first success after it). */
function longestOutage(probes: Array<{ at: number; ok: boolean }>, from: number, to: number) {
  let longest: { from: number; to: number } | null = null;
  let start: number | null = null;
  for (const p of probes) {
    if (p.at < from || p.at > to) continue;
    if (!p.ok) start ??= p.at;
    else if (start !== null) {
      if (!longest || p.at - start > longest.to - longest.from) longest = { from: start, to: p.at };
      start = null;
    }
  }
  return longest;
}

/** A port nothing listens on now (the API logs at warn, so its own "listening" line is not printed). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitForHealth(api: HeraldProcess, apiUrl: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (api.exit) throw new Error(`api exited at start-up:\n${api.tail()}`);
    const ok = await fetch(`${apiUrl}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`api not healthy within 60 s:\n${api.tail()}`);
    await sleep(100);
  }
}

// ---------------------------------------------------------------- main

/** Databases of earlier runs that were killed (their pid is gone); a live run's are left alone. */
async function dropStaleDatabases() {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    const stale = await admin<{ datname: string }[]>`
      select datname from pg_database where datname like 'herald\\_restart\\_%'`;
    for (const { datname } of stale) {
      const pid = Number(/^herald_restart_(\d+)_/.exec(datname)?.[1]);
      if (Number.isInteger(pid) && processIsAlive(pid)) continue;
      await admin.unsafe(`drop database if exists ${datname} with (force)`).catch(() => {});
    }
  } finally {
    await admin.end({ timeout: 1 });
  }
}

/** Ctrl-C or a CI timeout: take the Herald processes down too (each runs in its own process group). */
function killLive() {
  for (const child of live) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

async function main() {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killLive();
      process.exit(130);
    });
  }
  await dropStaleDatabases();
  console.log(
    `restart test: ${RUNS} run(s), ${EVENTS} events, ${CLIENTS} clients, ${RESTARTS} restarts of ` +
      `PostgreSQL ${clusterVersion}/${clusterName} per run`,
  );
  let failedRuns = 0;
  for (let i = 1; i <= RUNS; i++) {
    let result: RunResult;
    // A run stops by itself at its deadline; this is the backstop if it does not.
    const backstop = setTimeout(() => {
      console.log(`run ${i}: did not finish within ${RUN_TIMEOUT_MS / 1000 + 60} s FAILED`);
      killLive();
      process.exit(1);
    }, RUN_TIMEOUT_MS + 60_000);
    try {
      result = await oneRun(i);
    } catch (error) {
      result = { line: `run ${i}: aborted FAILED`, violations: [(error as Error).stack ?? String(error)] };
    }
    clearTimeout(backstop);
    console.log(result.line);
    if (result.line.endsWith('FAILED')) {
      failedRuns += 1;
      for (const v of result.violations) console.log(`  - ${v.replaceAll('\n', '\n    ')}`);
    }
  }
  console.log(failedRuns === 0 ? `all ${RUNS} run(s) passed` : `${failedRuns} of ${RUNS} run(s) FAILED`);
  process.exit(failedRuns === 0 ? 0 : 1);
}

await main();
