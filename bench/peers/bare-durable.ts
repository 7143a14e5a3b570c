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
import type { Attempt, WebhookJob } from './common';
import { attemptInsert, connectPeer, createDeliverer, servePeer, waitForCompleted } from './common';

const CLAIM = 32;

servePeer(async (args) => {
  const sql = connectPeer(args.url, 4);
  await Promise.all([sql`select 1`, sql`select 1`]);
  const deliverer = createDeliverer(args);
  let inFlight = 0;
  let finished = 0;
  let wake: (() => void) | null = null;
  let pending: Attempt[] = [];
  let committing: Promise<void> | null = null;

  /** Attempt rows and outcomes together: success marks the job done, a failure backs off (1 s × 2^attempts). */
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

  const woken = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
    });

  async function claimLoop() {
    while (finished < args.count) {
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
          pending.push(attempt);
          committing ??= commit();
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
      await waitForCompleted(
        deliverer.sentAll,
        async () => {
          await committing;
          return finished;
        },
        args.count,
      );
      wake?.();
      await loop;
    },
    async close() {
      await deliverer.close();
      await sql.end({ timeout: 2 });
    },
  };
});
