import { describe, expect, it } from 'vitest';
import { MIDNIGHT_MARGIN_MS, waitBeforeUtcMidnight } from '../src/testing';

const midnight = Date.parse('2026-12-08T00:00:00Z');

describe('database suites keep away from 00:00 UTC', () => {
  it('waits until just past midnight when it is closer than the margin', () => {
    expect(waitBeforeUtcMidnight(midnight - 10_000)).toBe(11_000);
    expect(waitBeforeUtcMidnight(midnight - MIDNIGHT_MARGIN_MS)).toBe(MIDNIGHT_MARGIN_MS + 1_000);
  });

  it('does not wait further from it, nor just after it', () => {
    expect(waitBeforeUtcMidnight(midnight - MIDNIGHT_MARGIN_MS - 1)).toBe(0);
    expect(waitBeforeUtcMidnight(midnight + 1)).toBe(0);
    expect(waitBeforeUtcMidnight(Date.parse('2026-12-07T12:00:00Z'))).toBe(0);
  });
});
