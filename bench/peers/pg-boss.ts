/**
 * pg-boss 10, batched: two workers fetch 256 jobs each (one query per
 * batch) and pg-boss completes a batch in one statement when its handler
 * returns; a shared limit keeps 64 sends in flight. A worker asks for its
 * next batch at once instead of waiting out the polling interval. Each
 * batch's attempt rows go in one insert.
 */
import PgBoss from 'pg-boss';
import type { Attempt, WebhookJob } from './common';
import { connectPeer, createDeliverer, insertAttempts, servePeer, waitForCompleted } from './common';

const BATCH = 256;
const WORKERS = 2;

/** At most `limit` of the calls run at once. */
function limiter(limit: number) {
  let active = 0;
  const queue: Array<() => void> = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((resolve) => queue.push(resolve));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

servePeer(async (args) => {
  const sql = connectPeer(args.url, 2);
  await sql`select 1`;
  // The schema and the queue exist (the bench made them); no maintenance or cron in the timed run.
  const boss = new PgBoss({ connectionString: args.url, max: 10, supervise: false, schedule: false, migrate: false });
  boss.on('error', (error) => console.error('pg-boss:', error));
  await boss.start();
  const deliverer = createDeliverer(args);
  const limit = limiter(args.concurrency);
  const workerIds: string[] = [];
  const handler = async (jobs: PgBoss.JobWithMetadata<WebhookJob>[]) => {
    const attempts: Attempt[] = await Promise.all(
      jobs.map((job) => limit(() => deliverer.deliver(job.id, job.data, job.retryCount + 1))),
    );
    await insertAttempts(sql, attempts);
    const failed = attempts.filter((a) => !a.result.ok).map((a) => a.jobId);
    // The batch's others complete when this returns (complete skips jobs no longer active).
    if (failed.length > 0) await boss.fail(args.queue, failed);
    // A full batch means more are waiting: fetch again without the polling pause.
    if (jobs.length === BATCH) for (const id of workerIds) boss.notifyWorker(id);
  };
  return {
    stats: deliverer.stats,
    async run() {
      for (let i = 0; i < WORKERS; i++)
        workerIds.push(
          await boss.work<WebhookJob>(
            args.queue,
            { batchSize: BATCH, includeMetadata: true, pollingIntervalSeconds: 0.5 },
            handler,
          ),
        );
      await waitForCompleted(
        deliverer.sentAll,
        async () => {
          const [row] = await sql<{ n: number }[]>`select count(*)::int as n from pgboss.job
          where name = ${args.queue} and state = 'completed'`;
          return row?.n ?? 0;
        },
        args.count,
      );
    },
    async close() {
      await boss.stop({ graceful: true, wait: true });
      await deliverer.close();
      await sql.end({ timeout: 2 });
    },
  };
});
