/**
 * The bench side of each job-queue peer: its schema (made before any timed
 * run), enqueueing a round's backlog (not timed), what the queue reports as
 * completed afterwards, and clearing it for the next round. The worker side
 * of each is `bench/peers/<file>` in a fresh process per run.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { makeWorkerUtils, runMigrations } from 'graphile-worker';
import { Redis } from 'ioredis';
import PgBoss from 'pg-boss';
import { benchDir } from '../lib/child';
import { userCreatedData } from '../lib/fixtures';
import { sleep } from '../lib/stats';
import type { Sql, WebhookJob } from './common';
import { attemptsTableSql, connectPeer, redisConnection } from './common';

export type QueuePeerName = 'graphileWorker' | 'pgBoss' | 'bullmq' | 'bareDurable';

export interface QueuePeer {
  name: QueuePeerName;
  /** The npm package and its installed version ('' for the bare loop). */
  version: string;
  /** The worker process's entry, under bench/. */
  file: string;
  /** The queue (task, job name) this peer's jobs go to. */
  queue: string;
  enqueue(jobs: WebhookJob[]): Promise<void>;
  /** Jobs the queue itself counts as completed (graphile-worker deletes them: those no longer there). */
  completed(enqueued: number): Promise<number>;
  /** Attempt rows logged, then cleared with the queue's finished jobs, ready for the next round. */
  clear(): Promise<number>;
  close(): Promise<void>;
}

export function installedVersion(pkg: string): string {
  const file = path.join(benchDir, '..', 'node_modules', pkg, 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/** A backlog of `count` jobs, one ~1 KB `user.created` event each. */
export function webhookJobs(count: number, tag: string): WebhookJob[] {
  const data = userCreatedData();
  return Array.from({ length: count }, (_, i) => ({ eventId: `evt_${tag}_${i}`, data }));
}

async function inChunks<T>(items: T[], size: number, fn: (chunk: T[]) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += size) await fn(items.slice(i, i + size));
}

/** Attempt rows so far, and a clean slate for the next round. */
async function takeAttempts(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from peer_attempts`;
  await sql`truncate peer_attempts`;
  return row?.n ?? 0;
}

export async function graphileWorkerPeer(url: string): Promise<QueuePeer> {
  await runMigrations({ connectionString: url });
  const sql = connectPeer(url, 1);
  await sql.unsafe(attemptsTableSql);
  const utils = await makeWorkerUtils({ connectionString: url });
  const queue = 'send_webhook';
  return {
    name: 'graphileWorker',
    version: installedVersion('graphile-worker'),
    file: 'peers/graphile-worker.ts',
    queue,
    enqueue: (jobs) =>
      inChunks(jobs, 2000, (chunk) => utils.addJobs(chunk.map((payload) => ({ identifier: queue, payload })))),
    async completed(enqueued) {
      const [row] = await sql<{ n: number }[]>`select count(*)::int as n from graphile_worker._private_jobs`;
      return enqueued - (row?.n ?? 0);
    },
    clear: () => takeAttempts(sql),
    async close() {
      await utils.release();
      await sql.end({ timeout: 2 });
    },
  };
}

export async function pgBossPeer(url: string): Promise<QueuePeer> {
  // Installs its schema; no maintenance or cron from the bench's own instance.
  const boss = new PgBoss({ connectionString: url, max: 2, supervise: false, schedule: false });
  boss.on('error', (error) => console.error('pg-boss:', error));
  await boss.start();
  const queue = 'send-webhook';
  await boss.createQueue(queue);
  const sql = connectPeer(url, 1);
  await sql.unsafe(attemptsTableSql);
  return {
    name: 'pgBoss',
    version: installedVersion('pg-boss'),
    file: 'peers/pg-boss.ts',
    queue,
    enqueue: (jobs) => inChunks(jobs, 2000, (chunk) => boss.insert(chunk.map((data) => ({ name: queue, data })))),
    async completed() {
      const [row] = await sql<{ n: number }[]>`select count(*)::int as n from pgboss.job
        where name = ${queue} and state = 'completed'`;
      return row?.n ?? 0;
    },
    async clear() {
      await sql`delete from pgboss.job where name = ${queue}`;
      return takeAttempts(sql);
    },
    async close() {
      await boss.stop({ graceful: false, wait: true });
      await sql.end({ timeout: 2 });
    },
  };
}

/** Redis at 127.0.0.1:6379, started (daemonized) when nothing answers there. */
async function ensureRedis(): Promise<string> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const redis = new Redis({ ...redisConnection, lazyConnect: true, retryStrategy: () => null });
    try {
      await redis.connect();
      const info = await redis.info('server');
      return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    } catch {
      if (attempt === 0) execFileSync('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1']);
      await sleep(250);
    } finally {
      redis.disconnect();
    }
  }
  throw new Error('BullMQ needs Redis at 127.0.0.1:6379: it did not answer, nor after starting redis-server');
}

export async function bullmqPeer(url: string): Promise<QueuePeer> {
  const redisVersion = await ensureRedis();
  const name = `herald-bench-peers-${process.pid}`;
  const queue = new Queue(name, { connection: redisConnection });
  await queue.obliterate({ force: true });
  const sql = connectPeer(url, 1);
  await sql.unsafe(attemptsTableSql);
  return {
    name: 'bullmq',
    version: `${installedVersion('bullmq')} (Redis ${redisVersion})`,
    file: 'peers/bullmq.ts',
    queue: name,
    enqueue: (jobs) => inChunks(jobs, 1000, (chunk) => queue.addBulk(chunk.map((data) => ({ name: 'send', data })))),
    completed: () => queue.getCompletedCount(),
    async clear() {
      await queue.obliterate({ force: true });
      return takeAttempts(sql);
    },
    async close() {
      await queue.obliterate({ force: true });
      await queue.close();
      await sql.end({ timeout: 2 });
    },
  };
}

export async function bareDurablePeer(url: string): Promise<QueuePeer> {
  const sql = connectPeer(url, 1);
  await sql.unsafe(attemptsTableSql);
  await sql.unsafe(`create table bare_jobs (
      id bigserial primary key,
      payload jsonb not null,
      done boolean not null default false,
      run_at timestamptz not null default now(),
      attempts integer not null default 0
    );
    create index bare_jobs_due on bare_jobs (run_at) where not done`);
  return {
    name: 'bareDurable',
    version: '',
    file: 'peers/bare-durable.ts',
    queue: 'bare_jobs',
    enqueue: (jobs) =>
      inChunks(
        jobs,
        2000,
        (chunk) =>
          sql`insert into bare_jobs (payload) select * from unnest(${sql.array(chunk.map((j) => JSON.stringify(j)))}::jsonb[])`,
      ),
    async completed() {
      const [row] = await sql<{ n: number }[]>`select count(*)::int as n from bare_jobs where done`;
      return row?.n ?? 0;
    },
    async clear() {
      await sql`truncate bare_jobs`;
      return takeAttempts(sql);
    },
    close: () => sql.end({ timeout: 2 }),
  };
}
