import type { ForwardResult } from './forward';

/** How long a refused report's answer is kept for the delivery to come back (a reconnect takes seconds). */
export const UNREPORTED_TTL_MS = 10 * 60_000;
/** At most this many kept: a hostile or broken server refusing every report must not grow the CLI. */
export const MAX_UNREPORTED = 1_000;

/**
 * Local answers whose report Herald refused because the stream no longer held the delivery (409: the
 * stream reconnected, or the lease ran out, before the report arrived). Nothing was recorded, so Herald
 * sends the delivery again, with the same attempt number; the kept answer is then reported under the
 * new session instead of forwarding it to the local URL a second time.
 */
export interface UnreportedAnswers {
  keep(deliveryId: string, attempt: number, result: ForwardResult): void;
  /** The kept answer of this delivery's attempt, once (removed), or undefined. */
  take(deliveryId: string, attempt: number): ForwardResult | undefined;
}

export function createUnreportedAnswers(now: () => number = Date.now): UnreportedAnswers {
  // A Map iterates in insertion order: the first entries are the oldest.
  const kept = new Map<string, { attempt: number; result: ForwardResult; at: number }>();
  return {
    keep(deliveryId, attempt, result) {
      kept.delete(deliveryId);
      kept.set(deliveryId, { attempt, result, at: now() });
      for (const [id, entry] of kept) {
        if (kept.size <= MAX_UNREPORTED && now() - entry.at <= UNREPORTED_TTL_MS) break;
        kept.delete(id);
      }
    },
    take(deliveryId, attempt) {
      const entry = kept.get(deliveryId);
      if (!entry) return undefined;
      kept.delete(deliveryId);
      // Another attempt (Herald recorded one meanwhile) is a new request the local URL must see.
      return entry.attempt === attempt && now() - entry.at <= UNREPORTED_TTL_MS ? entry.result : undefined;
    },
  };
}
