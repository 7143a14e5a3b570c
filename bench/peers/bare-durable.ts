/**
 * The least code that keeps Herald's guarantees, with postgres.js: claim up
 * to 32 due jobs with SKIP LOCKED under a 30 s lease (the claim moves
 * `run_at` past the lease, so a crashed worker's jobs come due again), send,
 * then write the attempt rows and the outcomes in one statement per group
 * commit (the sends that finish while a commit runs share the next). A send
 * frees its slot at once, and the next claim goes out as soon as 32 slots
 * are free, so the sender keeps 64 in flight.
 */

import { sleep } from '../lib/stats';
import type { WebhookJob } from './common';
import { connectPeer, createBareJobCommitter, createDeliverer, servePeer, waitForCompleted } from './common';

const CLAIM = 32;

servePeer(async (args) => {
  const sql = connectPeer(args.url, 4);
  await Promise.all([sql`select 1`, sql`select 1`]);
  const deliverer = createDeliverer(args);
  let inFlight = 0;
  let wake: (() => void) | null = null;
  const outcomes = createBareJobCommitter(sql);

  const woken = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
    });

  async function claimLoop() {
    while (outcomes.finished < args.count) {
      if (args.concurrency - inFlight < CLAIM) {
        await woken();
        continue;
      }
      const jobs = await sql<{ id: string; payload: WebhookJob; attempts: number }[]>`
        update bare_jobs j set run_at = now() + interval '30 seconds', attempts = j.attempts + 1
          from (select id from bare_jobs where not done and run_at <= now()
                 order by run_at limit ${CLAIM} for update skip locked) c
         where j.id = c.id
        returning j.id::text as id, j.payload, j.attempts`;
      for (const job of jobs) {
        inFlight++;
        void deliverer.deliver(job.id, job.payload, job.attempts).then((attempt) => {
          inFlight--;
          outcomes.add(attempt);
          wake?.();
        });
      }
      // Nothing due: poll again soon, or as soon as a send frees a slot.
      if (jobs.length === 0) await Promise.race([woken(), sleep(50)]);
    }
  }

  return {
    stats: deliverer.stats,
    async run() {
      const loop = claimLoop();
      await waitForCompleted(deliverer.sentAll, () => outcomes.settled(), args.count);
      wake?.();
      await loop;
    },
    async close() {
      await deliverer.close();
      await sql.end({ timeout: 2 });
    },
  };
});
