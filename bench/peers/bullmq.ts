/**
 * BullMQ on Redis (127.0.0.1:6379): one Worker with concurrency 64, its
 * defaults otherwise (it fetches the next job in the command that completes
 * the last). Redis holds the queue; the attempt rows go to PostgreSQL,
 * group-committed across the 64 handlers.
 */
import type { Job } from 'bullmq';
import { Queue, Worker } from 'bullmq';
import type { WebhookJob } from './common';
import { connectPeer, createAttemptLog, createDeliverer, redisConnection, servePeer, waitForCompleted } from './common';

servePeer(async (args) => {
  const sql = connectPeer(args.url, 2);
  await sql`select 1`;
  const attempts = createAttemptLog(sql);
  const deliverer = createDeliverer(args);
  const queue = new Queue(args.queue, { connection: redisConnection });
  const worker = new Worker<WebhookJob>(
    args.queue,
    async (job: Job<WebhookJob>) => {
      const attempt = await deliverer.deliver(job.id!, job.data, job.attemptsMade + 1);
      await attempts.record(attempt);
      if (!attempt.result.ok) throw new Error(`receiver answered ${attempt.result.statusCode}`);
    },
    { connection: redisConnection, concurrency: args.concurrency, autorun: false },
  );
  worker.on('error', (error) => console.error('bullmq:', error));
  await worker.waitUntilReady();
  await queue.waitUntilReady();
  return {
    stats: deliverer.stats,
    async run() {
      void worker.run();
      await waitForCompleted(deliverer.sentAll, () => queue.getCompletedCount(), args.count);
    },
    async close() {
      await worker.close();
      await queue.close();
      await deliverer.close();
      await sql.end({ timeout: 2 });
    },
  };
});
