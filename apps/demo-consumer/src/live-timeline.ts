import type { TimelineEntry, TimelineEntryInput, TimelineStore } from './store';

/** Numbers behind the page's poll counter. */
export interface ConsumerStats {
  startedAt: string;
  /** Verified deliveries since start, duplicates included. */
  webhooksReceived: number;
}

export type LiveUpdate = { kind: 'entry'; entry: TimelineEntry } | { kind: 'stats'; stats: ConsumerStats };

export type ErrorReporter = (message: string, error: unknown) => void;

/**
 * The timeline as the page sees it: persisted entries plus a live fan-out to
 * open SSE streams. Recording never throws: the timeline is a display, and a
 * failure to write it must not fail an acknowledgement or a follow-up.
 */
export function createLiveTimeline(
  store: TimelineStore,
  reportError: ErrorReporter,
  now: () => Date = () => new Date(),
) {
  const listeners = new Set<(update: LiveUpdate) => void>();
  const stats: ConsumerStats = { startedAt: now().toISOString(), webhooksReceived: 0 };
  let appendsSincePrune = 0;

  const publish = (update: LiveUpdate) => {
    for (const listener of listeners) listener(update);
  };

  return {
    async record(input: TimelineEntryInput): Promise<TimelineEntry | null> {
      try {
        const entry = await store.append(input);
        publish({ kind: 'entry', entry });
        // Pruned here rather than by the worker: rejected deliveries add entries but never jobs.
        if (++appendsSincePrune >= 200) {
          appendsSincePrune = 0;
          await store.prune();
        }
        return entry;
      } catch (error) {
        reportError('could not record a timeline entry', error);
        return null;
      }
    },

    countWebhookReceived(): void {
      stats.webhooksReceived += 1;
      publish({ kind: 'stats', stats: { ...stats } });
    },

    stats: (): ConsumerStats => ({ ...stats }),

    list: store.list,

    subscribe(listener: (update: LiveUpdate) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export type LiveTimeline = ReturnType<typeof createLiveTimeline>;
