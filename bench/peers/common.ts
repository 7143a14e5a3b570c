/**
 * What every job-queue peer of the peers benchmark shares, so that only the
 * queue differs: the job (an event id and its ~1 KB data), sending it as the
 * dispatcher would (signed, same sender), an attempt row per send in
 * PostgreSQL (as Herald logs every attempt), and the timing of one run in a
 * fresh worker process.
 */
import type { AttemptResult } from '@herald/delivery';
import postgres from 'postgres';
import { serveCommands } from '../lib/child';
import { monoMs, sleep } from '../lib/stats';
import { bareSender, signedMessage } from '../lib/webhook';

/** A job's payload: what a team would enqueue per webhook. */
export interface WebhookJob {
  eventId: string;
  data: unknown;
}

/** What the bench passes to a peer's worker process for one run. */
export interface PeerRunArgs {
  /** The contender's own database (its queue's schema, and `peer_attempts`). */
  url: string;
  /** The queue (or job name) holding this run's backlog. */
  queue: string;
  count: number;
  concurrency: number;
  target: string;
  secret: string;
}

export interface PeerRunResult {
  elapsedMs: number;
  /** This process's CPU (user + system) over the timed part. */
  processUs: number;
  sent: number;
  failures: number;
}

/** Herald's delivery_attempts without the foreign key: one row per send. */
export const attemptsTableSql = `create table if not exists peer_attempts (
  job_id text not null,
  attempt integer not null,
  started_at timestamptz not null,
  duration_ms integer not null,
  status_code integer,
  error_class text,
  error_message text,
  response_body text
)`;

export interface Attempt {
  jobId: string;
  attempt: number;
  startedAt: Date;
  result: AttemptResult;
}

export type Sql = postgres.Sql;

/** BullMQ's Redis (its workers need maxRetriesPerRequest null). */
export const redisConnection = { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null };

export function connectPeer(url: string, max: number): Sql {
  return postgres(url, { max, onnotice: () => {}, connection: { application_name: 'herald-bench-peer' } });
}

/** The statement writing a batch of attempt rows, as a fragment (it can go in a larger statement). */
export function attemptInsert(sql: Sql, attempts: readonly Attempt[]) {
  return sql`insert into peer_attempts (job_id, attempt, started_at, duration_ms, status_code,
                                        error_class, error_message, response_body)
    select * from unnest(${sql.array(attempts.map((a) => a.jobId))}::text[],
                         ${sql.array(attempts.map((a) => a.attempt))}::int[],
                         ${sql.array(attempts.map((a) => a.startedAt.toISOString()))}::timestamptz[],
                         ${sql.array(attempts.map((a) => Math.round(a.result.durationMs)))}::int[],
                         ${sql.array(attempts.map((a) => a.result.statusCode))}::int[],
                         ${sql.array(attempts.map((a) => a.result.errorClass))}::text[],
                         ${sql.array(attempts.map((a) => a.result.errorMessage))}::text[],
                         ${sql.array(attempts.map((a) => a.result.responseBody))}::text[])`;
}

/**
 * The bare durable loops' group commit: attempt rows and outcomes in one statement (success marks
 * the job done, a failure backs off 1 s × 2^attempts); sends that finish while a commit runs share
 * the next. `finished` counts the jobs done.
 */
export function createBareJobCommitter(sql: Sql) {
  let pending: Attempt[] = [];
  let committing: Promise<void> | null = null;
  const state = { finished: 0 };
  async function commit() {
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      await sql`with logged as (${attemptInsert(sql, batch)})
        update bare_jobs j
           set done = o.ok,
               run_at = case when o.ok then j.run_at else now() + interval '1 second' * power(2, j.attempts) end
          from unnest(${sql.array(batch.map((a) => a.jobId))}::bigint[], ${sql.array(batch.map((a) => a.result.ok))}::bool[]) as o(id, ok)
         where j.id = o.id`;
      state.finished += batch.filter((a) => a.result.ok).length;
    }
    committing = null;
  }
  return {
    get finished() {
      return state.finished;
    },
    add(attempt: Attempt) {
      pending.push(attempt);
      committing ??= commit();
    },
    /** Jobs done once the commit under way (if any) has ended. */
    async settled(): Promise<number> {
      await committing;
      return state.finished;
    },
  };
}

export async function insertAttempts(sql: Sql, attempts: readonly Attempt[]): Promise<void> {
  if (attempts.length > 0) await attemptInsert(sql, attempts);
}

/**
 * Group commit for queues that run one handler per job: a handler's
 * `record` resolves once its row is committed, and the rows that arrive while
 * one insert runs go together in the next, so 64 handlers share a few
 * commits rather than making 64.
 */
export function createAttemptLog(sql: Sql) {
  let waiting: Array<{ attempt: Attempt; done(error?: unknown): void }> = [];
  let flushing = false;
  async function flush() {
    flushing = true;
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      try {
        await insertAttempts(
          sql,
          batch.map((w) => w.attempt),
        );
        for (const w of batch) w.done();
      } catch (error) {
        for (const w of batch) w.done(error);
      }
    }
    flushing = false;
  }
  return {
    record(attempt: Attempt): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        waiting.push({ attempt, done: (error) => (error ? reject(error) : resolve()) });
        if (!flushing) void flush();
      });
    },
  };
}

/** Signs and sends one job's webhook as the dispatcher would; counts what it sent. */
export function createDeliverer(args: PeerRunArgs) {
  const sender = bareSender();
  const stats = { sent: 0, failures: 0 };
  let allSent!: () => void;
  const sentAll = new Promise<void>((resolve) => {
    allSent = resolve;
  });
  return {
    stats,
    /** Resolves when `count` jobs have been sent successfully. */
    sentAll,
    async deliver(jobId: string, job: WebhookJob, attempt: number): Promise<Attempt> {
      const startedAt = new Date();
      const { headers, body } = signedMessage(job.eventId, args.secret, job.data);
      const result = await sender.send({ url: args.target, headers, body });
      stats.sent++;
      if (!result.ok) stats.failures++;
      if (stats.sent - stats.failures >= args.count) allSent();
      return { jobId, attempt, startedAt, result };
    },
    close: () => sender.close(),
  };
}

/**
 * Once every job has been sent, polls `done` (the queue's count of completed
 * jobs) until it reports `count`: the clock stops when the queue has
 * recorded the last completion, not when the last handler returned.
 */
export async function waitForCompleted(
  sentAll: Promise<void>,
  done: () => Promise<number>,
  count: number,
  timeoutMs = 120_000,
) {
  const deadline = monoMs() + timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not every job was sent within ${timeoutMs} ms`)), timeoutMs);
  });
  await Promise.race([sentAll, timedOut]).finally(() => clearTimeout(timer));
  for (;;) {
    const n = await done();
    if (n >= count) return;
    if (monoMs() > deadline) throw new Error(`only ${n} of ${count} jobs completed after ${timeoutMs} ms`);
    await sleep(5);
  }
}

/**
 * A peer's worker: `prepare` connects (untimed); `run` starts the queue's
 * worker and resolves once the queue reports every job completed; `close`
 * stops it (untimed). The process answers one `run` command and exits.
 */
export interface Peer {
  run(): Promise<void>;
  close(): Promise<void>;
  stats: { sent: number; failures: number };
}

export function servePeer(prepare: (args: PeerRunArgs) => Promise<Peer>) {
  serveCommands({
    async run(args) {
      const peer = await prepare(args as PeerRunArgs);
      const cpu = process.cpuUsage();
      const started = monoMs();
      await peer.run();
      const elapsedMs = monoMs() - started;
      const { user, system } = process.cpuUsage(cpu);
      await peer.close();
      return { elapsedMs, processUs: user + system, ...peer.stats } satisfies PeerRunResult;
    },
  });
}
