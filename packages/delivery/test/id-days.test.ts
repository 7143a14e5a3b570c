import { newIdAt } from '@herald/db';
import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inIdDays } from '../src/sql/queue-window';

const DAY_MS = 86_400_000;
const dialect = new PgDialect();

/** The two constants `inIdDays` writes into the text, or null when it leaves the days out. */
function boundsOf(fromMs: number, toMs: number): [string, string] | null {
  const { sql: text, params } = dialect.sqlToQuery(inIdDays(sql`d.id`, 'delivery', fromMs, toMs));
  expect(params).toEqual([]); // constants in the text, never parameters
  const match = /^d\.id >= '([A-Za-z0-9_]+)' and d\.id < '([A-Za-z0-9_]+)'$/.exec(text);
  if (!match) {
    expect(text).toBe('true');
    return null;
  }
  return [match[1]!, match[2]!];
}

// The finish statement (sql/finish.ts) filters a batch's deliveries with these bounds: an id the
// bounds left out would never have its outcome written.
describe('inIdDays', () => {
  it('holds every id minted on the days from the first to the last, and no other day', () => {
    const day = Date.UTC(2026, 11, 4);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: DAY_MS - 1 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: DAY_MS - 1 }),
        (firstOffset, daysLater, lastOffset) => {
          const first = day + firstOffset;
          const last = day + daysLater * DAY_MS + lastOffset;
          const [from, to] = boundsOf(first, last)!;
          for (const ms of [first, last, day, day + daysLater * DAY_MS + DAY_MS - 1]) {
            const id = newIdAt('delivery', ms);
            expect(from <= id && id < to, `${id} in [${from}, ${to})`).toBe(true);
          }
          expect(newIdAt('delivery', day - 1) < from).toBe(true);
          expect(newIdAt('delivery', day + (daysLater + 1) * DAY_MS) >= to).toBe(true);
        },
      ),
    );
  });

  it('leaves the days out where a bound would not fit in an id', () => {
    expect(boundsOf(-1, 0)).toBeNull();
    expect(boundsOf(0, 2 ** 50 - 1)).toBeNull();
    expect(boundsOf(0, 0)).not.toBeNull();
  });
});
