import { parseDuration } from '@herald/config';

/** Svix's schedule: after the immediate first attempt, retry after these delays. */
export const defaultRetryDelaysMs = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

/** `HERALD_RETRY_SCHEDULE=1s,2s,5s`: the delays before each retry. */
export function parseRetrySchedule(text: string): number[] {
  const delays = text
    .split(',')
    .filter((part) => part.trim() !== '')
    .map(parseDuration);
  if (delays.length === 0) throw new Error('HERALD_RETRY_SCHEDULE lists no delays');
  return delays;
}

export interface RetryPolicy {
  delaysMs: readonly number[];
  /** ±fraction of random spread, so retries of many deliveries do not arrive together. */
  jitter: number;
  /** Retry-After is honoured between these bounds. */
  minRetryAfterMs: number;
  maxRetryAfterMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  delaysMs: defaultRetryDelaysMs,
  jitter: 0.2,
  minRetryAfterMs: 1_000,
  maxRetryAfterMs: 3_600_000,
};

/**
 * Delay before the next attempt, or null when the schedule is used up.
 * `attemptsInSchedule` counts attempts since the schedule (re)started,
 * including the one that just failed.
 */
export function nextRetryDelayMs(
  policy: RetryPolicy,
  attemptsInSchedule: number,
  retryAfterSeconds: number | null,
  random: () => number = Math.random,
): number | null {
  const base = policy.delaysMs[attemptsInSchedule - 1];
  if (base === undefined) return null;
  const spread = base * policy.jitter;
  const scheduled = Math.max(0, Math.round(base - spread + random() * 2 * spread));
  if (retryAfterSeconds === null) return scheduled;
  // Retry-After is the least the receiver wants us to wait (RFC 9110 §10.2.3), never a reason to
  // retry sooner than the schedule: a `503 Retry-After: 1` from a load balancer during a deploy
  // would otherwise spend the whole schedule (days) in seconds.
  const asked = Math.min(policy.maxRetryAfterMs, Math.max(policy.minRetryAfterMs, retryAfterSeconds * 1000));
  return Math.max(scheduled, asked);
}
