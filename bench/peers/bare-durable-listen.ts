/**
 * Figure 3's durable baseline: the bare durable loop (`bare-durable.ts`) woken by LISTEN, for
 * latency rather than throughput. The writer commits a job and then NOTIFYs (one per commit, no
 * coalescing); this worker claims whatever is due with SKIP LOCKED under a 30 s lease as soon as
 * a slot is free (no waiting for a batch worth), sends it, and writes the attempt rows and outcomes
 * in one statement per group commit. It polls every 50 ms as well, so a lost notification costs
 * latency only. One `run` per process: it ends once `count` jobs are done.
 */

import { sleep } from '../lib/stats';
import type { Attempt, WebhookJob } from './common';
import { attemptInsert, connectPeer, createDeliverer, servePeer, waitForCompleted } from './common';

export const BARE_JOBS_CHANNEL = 'bare_jobs';
const CLAIM = 32;

servePeer(async (args) => {
  const sql = connectPeer(args.url, 4);
  await Promise.all([sql`select 1`, sql`select 1`]);
  const deliverer = createDeliverer(args);
  let inFlight = 0;
  let finished = 0;
  let wake: (() => void) | null = null;
  // Set by a notification or a freed slot: the next wait returns at once (one that came while a
  // claim ran is not lost).
  let signalled = false;
  const signal = () => {
    signalled = true;
    wake?.();
  };
  const woken = () =>
    signalled
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          wake = resolve;
        });
  const listening = await sql.listen(BARE_JOBS_CHANNEL, signal);
  let pending: Attempt[] = [];
  let committing: Promise<void> | null = null;

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
      finished += batch.filter((a) => a.result.ok).length;
    }
    committing = null;
  }

  async function claimLoop() {
    while (finished < args.count) {
      signalled = false;
      const free = args.concurrency - inFlight;
      if (free <= 0) {
        await woken();
        continue;
      }
      const jobs = await sql<{ id: string; payload: WebhookJob; attempts: number }[]>`
        update bare_jobs j set run_at = now() + interval '30 seconds', attempts = j.attempts + 1
          from (select id from bare_jobs where not done and run_at <= now()
                 order by run_at limit ${Math.min(CLAIM, free)} for update skip locked) c
         where j.id = c.id
        returning j.id::text as id, j.payload, j.attempts`;
      for (const job of jobs) {
        inFlight++;
        void deliverer.deliver(job.id, job.payload, job.attempts).then((attempt) => {
          inFlight--;
          pending.push(attempt);
          committing ??= commit();
          signal();
        });
      }
      if (jobs.length === 0) await Promise.race([woken(), sleep(50)]);
    }
  }

  return {
    stats: deliverer.stats,
    async run() {
      const loop = claimLoop();
      await waitForCompleted(
        deliverer.sentAll,
        async () => {
          await committing;
          return finished;
        },
        args.count,
      );
      signal();
      await loop;
    },
    async close() {
      await listening.unlisten();
      await deliverer.close();
      await sql.end({ timeout: 2 });
    },
  };
});
