import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { QueueWindow } from '../src/sql/queue-window';
import { inQueueWindow, queueWindowTextKey } from '../src/sql/queue-window';

const dialect = new PgDialect();
const base = Date.UTC(2026, 11, 4);

const window = fc.record({
  floorMs: fc.option(fc.integer({ min: 0, max: 3 * 86_400_000 }), { nil: null }),
  openEnded: fc.boolean(),
});
const toWindow = (w: { floorMs: number | null; openEnded: boolean }): QueueWindow => ({
  floor: w.floorMs === null ? null : new Date(base + w.floorMs),
  openEnded: w.openEnded,
});

function text(w: QueueWindow, now: number, kind: 'delivery' | 'event'): string {
  return dialect.sqlToQuery(inQueueWindow(sql`d.id`, kind, w, now, { literal: true })).sql;
}

// The claim keeps its text per key (executeHotTemplate): two windows with one key must write one
// text, or a claim would run with another window's bounds.
describe('queueWindowTextKey', () => {
  it('is equal for two windows exactly when the text inQueueWindow writes for them is', () => {
    fc.assert(
      fc.property(
        window,
        window,
        fc.integer({ min: 0, max: 3 * 86_400_000 }),
        fc.integer({ min: 0, max: 3 * 86_400_000 }),
        (a, b, nowA, nowB) => {
          const [wa, wb] = [toWindow(a), toWindow(b)];
          const [ta, tb] = [base + nowA, base + nowB];
          const sameKey = queueWindowTextKey(wa, ta) === queueWindowTextKey(wb, tb);
          for (const kind of ['delivery', 'event'] as const) {
            expect(text(wa, ta, kind) === text(wb, tb, kind)).toBe(sameKey);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
