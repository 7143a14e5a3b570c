import type { Database } from '@herald/db';
import type { AttemptOutcome, FinishedAttempt, RecordAttemptOptions } from './sql/finish';
import { recordAttempts } from './sql/finish';

type Outcome = { outcome: AttemptOutcome; eventsEmitted: number };

/**
 * Group commit for attempt outcomes. An attempt that finishes while no
 * write is running is written at once, alone; attempts that finish while
 * one is running wait for it and then go together in the next transaction.
 * Idle dispatchers pay no added latency; busy ones pay one commit per
 * batch instead of one per delivery.
 */
export class AttemptRecorder {
  private queue: Array<{ attempt: FinishedAttempt; resolve(o: Outcome): void; reject(e: unknown): void }> = [];
  private writing: Promise<void> | null = null;

  constructor(
    private readonly db: Database,
    private readonly options: Omit<RecordAttemptOptions, 'startedAt'>,
    private readonly maxBatch = 100,
  ) {}

  record(attempt: FinishedAttempt): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      this.queue.push({ attempt, resolve, reject });
      if (!this.writing) this.writing = this.drain();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const outcomes = await recordAttempts(
          this.db,
          batch.map((b) => b.attempt),
          this.options,
        );
        for (const [i, b] of batch.entries()) b.resolve(outcomes[i]!);
      } catch (error) {
        // The batch's statement failed, so none of its outcomes was written; the leases expire and
        // the deliveries are sent again.
        for (const b of batch) b.reject(error);
      }
    }
    this.writing = null;
  }
}
