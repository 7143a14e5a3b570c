/**
 * graphile-worker 0.17 with its documented throughput settings
 * (worker.graphile.org/docs/performance): a local queue of 500 jobs fetched
 * and locked at once, and batched completion (completeJobBatchDelay 0). One
 * job per webhook, 64 at once; the handler's attempt row is group-committed.
 */
import type { Task } from 'graphile-worker';
import { Logger, run } from 'graphile-worker';
import type { WebhookJob } from './common';
import { connectPeer, createAttemptLog, createDeliverer, servePeer, waitForCompleted } from './common';

/** Warnings and errors only: a per-job info line would cost more than the job. */
const quietLogger = new Logger(() => (level, message) => {
  if (level === 'error' || level === 'warning') console.error(`graphile-worker ${level}: ${message}`);
});

servePeer(async (args) => {
  const sql = connectPeer(args.url, 2);
  await sql`select 1`;
  const attempts = createAttemptLog(sql);
  const deliverer = createDeliverer(args);
  const send: Task = async (payload, helpers) => {
    const attempt = await deliverer.deliver(helpers.job.id, payload as WebhookJob, helpers.job.attempts);
    await attempts.record(attempt);
    if (!attempt.result.ok) throw new Error(`receiver answered ${attempt.result.statusCode}`);
  };
  let runner: Awaited<ReturnType<typeof run>> | null = null;
  return {
    stats: deliverer.stats,
    async run() {
      runner = await run({
        connectionString: args.url,
        concurrency: args.concurrency,
        maxPoolSize: args.concurrency + 2, // the documented advice: concurrency + 2 (opened as needed)
        noHandleSignals: true,
        logger: quietLogger,
        taskList: { [args.queue]: send },
        preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
      });
      // Completed jobs are deleted: the run is over when none is left.
      await waitForCompleted(
        deliverer.sentAll,
        async () => {
          const [row] = await sql<{ n: number }[]>`select count(*)::int as n from graphile_worker._private_jobs`;
          return args.count - (row?.n ?? 0);
        },
        args.count,
      );
    },
    async close() {
      await runner?.stop();
      await deliverer.close();
      await sql.end({ timeout: 2 });
    },
  };
});
