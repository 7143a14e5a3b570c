/**
 * Figure 3's durable baseline: the bare durable loop (`bare-durable.ts`) woken by LISTEN, for
 * latency rather than throughput. The writer commits a job and then NOTIFYs (one per commit, no
 * coalescing); this worker claims whatever is due with SKIP LOCKED under a 30 s lease as soon as
 * a slot is free (no waiting for a batch worth), sends it, and writes the attempt rows and outcomes
 * in one statement per group commit. It polls every 50 ms as well, so a lost notification costs
 * latency only. One `run` per process: it ends once `count` jobs are done.
 */

import { sleep } from '../lib/stats';
import type { WebhookJob } from './common';
import { connectPeer, createBareJobCommitter, createDeliverer, servePeer, waitForCompleted } from './common';

export const BARE_JOBS_CHANNEL = 'bare_jobs';
const CLAIM = 32;

servePeer(async (args) => {
  const sql = connectPeer(args.url, 4);
  await Promise.all([sql`select 1`, sql`select 1`]);
  const deliverer = createDeliverer(args);
  let inFlight = 0;
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
  const outcomes = createBareJobCommitter(sql);

  async function claimLoop() {
    while (outcomes.finished < args.count) {
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
          outcomes.add(attempt);
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
      await waitForCompleted(deliverer.sentAll, () => outcomes.settled(), args.count);
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
