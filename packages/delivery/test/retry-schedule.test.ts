import { parseDuration } from '@herald/config';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RetryPolicy } from '../src/retry-schedule';
import { defaultRetryDelaysMs, defaultRetryPolicy, nextRetryDelayMs, parseRetrySchedule } from '../src/retry-schedule';

const policy = (over: Partial<RetryPolicy> = {}): RetryPolicy => ({ ...defaultRetryPolicy, ...over });

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['1s', 1_000],
    ['1.5s', 1_500],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    [' 30 s ', 30_000],
    ['0s', 0],
    ['0.0015s', 2],
  ])('%j is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '5', 's', '-5s', '5 sec', '5S', '1e3ms', '5s5', 'five seconds', '1w', '.5s'])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(/not a duration/);
  });
});

describe('parseRetrySchedule', () => {
  it('reads comma-separated durations in order', () => {
    expect(parseRetrySchedule('1s,1s,2s,5m,1h')).toEqual([1_000, 1_000, 2_000, 300_000, 3_600_000]);
    expect(parseRetrySchedule(' 500ms , 2s ,')).toEqual([500, 2_000]);
  });

  it('refuses an empty schedule and a bad entry', () => {
    expect(() => parseRetrySchedule('')).toThrow(/no delays/);
    expect(() => parseRetrySchedule(' , ,')).toThrow(/no delays/);
    expect(() => parseRetrySchedule('1s,soon,2s')).toThrow(/"soon"/);
  });
});

describe('nextRetryDelayMs', () => {
  it('defaults to the Svix schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h', () => {
    expect(defaultRetryDelaysMs).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    const exact = defaultRetryDelaysMs.map((_, i) => nextRetryDelayMs(policy({ jitter: 0 }), i + 1, null));
    expect(exact).toEqual(defaultRetryDelaysMs);
  });

  it('counts attempts from 1: the first failure waits the first delay', () => {
    const p = policy({ delaysMs: [100, 200, 300], jitter: 0 });
    expect([1, 2, 3].map((n) => nextRetryDelayMs(p, n, null))).toEqual([100, 200, 300]);
  });

  it('is exhausted (null) after the last delay, and for nonsense attempt counts', () => {
    const p = policy({ delaysMs: [100, 200], jitter: 0 });
    expect(nextRetryDelayMs(p, 3, null)).toBeNull();
    expect(nextRetryDelayMs(p, 99, null)).toBeNull();
    expect(nextRetryDelayMs(p, 0, null)).toBeNull();
    expect(nextRetryDelayMs(policy({ delaysMs: [] }), 1, null)).toBeNull();
    // An exhausted schedule stays exhausted even when the receiver asks for a retry.
    expect(nextRetryDelayMs(p, 3, 1)).toBeNull();
  });

  it('spreads each delay by at most ±20 %, reaching both ends', () => {
    const p = policy({ delaysMs: [10_000], jitter: 0.2 });
    expect(nextRetryDelayMs(p, 1, null, () => 0)).toBe(8_000);
    expect(nextRetryDelayMs(p, 1, null, () => 0.5)).toBe(10_000);
    expect(nextRetryDelayMs(p, 1, null, () => 0.999999999)).toBe(12_000);
  });

  it('keeps every jittered delay within ±20 % of its base (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 100_000_000 }), { minLength: 1, maxLength: 12 }),
        fc.nat(),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (delays, pick, r) => {
          const attempt = (pick % delays.length) + 1;
          const base = delays[attempt - 1]!;
          const delay = nextRetryDelayMs(policy({ delaysMs: delays, jitter: 0.2 }), attempt, null, () => r)!;
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(Math.floor(base * 0.8));
          expect(delay).toBeLessThanOrEqual(Math.ceil(base * 1.2));
        },
      ),
    );
  });

  it('uses Math.random by default, and actually spreads', () => {
    const p = policy({ delaysMs: [60_000], jitter: 0.2 });
    const seen = new Set(Array.from({ length: 50 }, () => nextRetryDelayMs(p, 1, null)));
    expect(seen.size).toBeGreaterThan(1);
    for (const d of seen) {
      expect(d).toBeGreaterThanOrEqual(48_000);
      expect(d).toBeLessThanOrEqual(72_000);
    }
  });

  it('honours Retry-After as the least wait: later than the schedule when it asks so, never sooner; clamped', () => {
    const p = policy({ delaysMs: [5_000, 300_000], jitter: 0.2, minRetryAfterMs: 1_000, maxRetryAfterMs: 3_600_000 });
    const noisy = () => 0.9; // the schedule's steps jittered: 5,800 ms and 348,000 ms
    expect(nextRetryDelayMs(p, 1, null, noisy)).toBe(5_800);
    expect(nextRetryDelayMs(p, 1, 60, noisy)).toBe(60_000);
    // Sooner than the schedule: the schedule (a 503 Retry-After: 1 does not spend the retries in seconds).
    expect(nextRetryDelayMs(p, 1, 2, noisy)).toBe(5_800);
    expect(nextRetryDelayMs(p, 2, 120, noisy)).toBe(348_000);
    expect(nextRetryDelayMs(p, 1, 0, noisy)).toBe(5_800);
    // Too late: at most the maximum, so a receiver cannot park a delivery for days.
    expect(nextRetryDelayMs(p, 1, 86_400 * 30, noisy)).toBe(3_600_000);
  });
});
