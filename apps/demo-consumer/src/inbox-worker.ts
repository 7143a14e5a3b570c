import { errorMessage } from './herald-event';
import type { ErrorReporter, LiveTimeline } from './live-timeline';
import type { InboxJob, InboxStore } from './store';

export interface InboxWorkerOptions {
  inbox: InboxStore;
  timeline: LiveTimeline;
  process(job: InboxJob): Promise<void>;
  reportError: ErrorReporter;
  /** How often to look for due jobs when nothing signals (retries fall due this way). Default 500 ms. */
  pollIntervalMs?: number;
  /** Attempts before a job is given up on. Default 8. */
  maxAttempts?: number;
  /** Delay before attempt `n + 1` after `n` failed. Default 1 s, doubling, at most 60 s. */
  retryDelayMs?(attempts: number): number;
  /**
   * Test hook: claim each job, then hold it forever without processing it, so
   * a test can kill the process between the acknowledgement and the work.
   */
  holdJobs?: boolean;
}

export interface InboxWorker {
  /** A new job was stored: look now rather than at the next poll. */
  wake(): void;
  /** Finishes the job in hand, then stops. */
  stop(): Promise<void>;
}

const defaultRetryDelayMs = (attempts: number) => Math.min(60_000, 1000 * 2 ** (attempts - 1));

/**
 * Processes the inbox one job at a time, oldest first, so a user's events are
 * handled in the order they arrived: a job waiting for its retry holds back
 * the later jobs of its subject (`InboxStore.nextDue`), not other subjects'.
 * It reads its work from the store, not from memory: on start it picks up
 * whatever an earlier run left unprocessed.
 */
export function startInboxWorker(options: InboxWorkerOptions): InboxWorker {
  const pollIntervalMs = options.pollIntervalMs ?? 500;
  const maxAttempts = options.maxAttempts ?? 8;
  const retryDelayMs = options.retryDelayMs ?? defaultRetryDelayMs;
  let stopped = false;
  let wakeUp: (() => void) | null = null;
  let wokenEarly = false;
  let markStopped = () => {};
  const whenStopped = new Promise<void>((resolve) => (markStopped = resolve));

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      if (wokenEarly || stopped) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = null;
        resolve();
      }
      wakeUp = done;
    });

  async function runJob(job: InboxJob): Promise<void> {
    const attempt = await options.inbox.claim(job.webhookId);
    if (options.holdJobs) {
      await whenStopped;
      return;
    }
    try {
      await options.process(job);
      await options.inbox.complete(job.webhookId);
    } catch (error) {
      const message = errorMessage(error);
      const entry = { kind: 'error' as const, ok: false, webhookId: job.webhookId, eventType: job.type };
      if (attempt >= maxAttempts) {
        await options.inbox.giveUp(job.webhookId, message);
        await options.timeline.record({ ...entry, summary: `gave up after ${attempt} attempts: ${message}` });
      } else {
        const delay = retryDelayMs(attempt);
        await options.inbox.retryLater(job.webhookId, message, new Date(Date.now() + delay));
        await options.timeline.record({
          ...entry,
          summary: `attempt ${attempt} failed, retrying in ${Math.round(delay / 1000)} s: ${message}`,
        });
      }
    }
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      wokenEarly = false;
      try {
        const job = await options.inbox.nextDue(new Date());
        if (!job) {
          await pause(pollIntervalMs);
          continue;
        }
        await runJob(job);
      } catch (error) {
        // The store itself failed (e.g. closing): back off rather than spin.
        if (!stopped) options.reportError('inbox worker error', error);
        await pause(pollIntervalMs);
      }
    }
  }

  const running = loop();
  return {
    wake() {
      wokenEarly = true;
      wakeUp?.();
    },
    async stop() {
      stopped = true;
      markStopped();
      wakeUp?.();
      await running;
    },
  };
}
