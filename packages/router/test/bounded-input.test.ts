import { describe, expect, it } from 'vitest';
import { hasMoreKeysThan, jsonbTextWithin } from '../src/procedures/bounded-input';

describe('checks made before a free-form input is walked', () => {
  it('measures JSON as JSON.stringify writes it, exactly, at the limit', () => {
    const values: unknown[] = [
      {},
      [],
      { a: 1, b: [true, false, null, 'x"y', 1.5, -2], c: { d: {} }, 'é\n': [[], [{}]] },
      Array.from({ length: 300 }, (_, i) => ({ [`k${i}`]: i % 2 === 0 ? null : `v${i}` })),
    ];
    for (const value of values) {
      const length = JSON.stringify(value).length;
      expect(jsonbTextWithin(value, length)).toBe(true);
      expect(jsonbTextWithin(value, length - 1)).toBe(false);
    }
  });

  it('counts a number as PostgreSQL prints it: in full, without an exponent', () => {
    expect(jsonbTextWithin({ a: 5e-324 }, 300)).toBe(false);
    expect(jsonbTextWithin({ a: 1e308 }, 300)).toBe(false);
    expect(jsonbTextWithin({ a: 1e21 }, 40)).toBe(true);
    expect(
      jsonbTextWithin(
        Array.from({ length: 682 }, () => 5e-324),
        8192,
      ),
    ).toBe(false);
  });

  it('stops early on a huge or deep value, and counts keys only of plain objects', () => {
    const deep: unknown[] = [];
    let cursor = deep;
    for (let i = 0; i < 200_000; i++) {
      const next: unknown[] = [];
      cursor.push(next);
      cursor = next;
    }
    expect(jsonbTextWithin(deep, 8192)).toBe(false);
    expect(jsonbTextWithin({ a: Array.from({ length: 80_000 }, () => ({})) }, 8192)).toBe(false);
    expect(hasMoreKeysThan(Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`h${i}`, 'v'])), 20)).toBe(true);
    expect(hasMoreKeysThan(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`h${i}`, 'v'])), 20)).toBe(false);
    expect(hasMoreKeysThan(Array.from({ length: 50 }), 20)).toBe(false);
    expect(hasMoreKeysThan('x'.repeat(50), 20)).toBe(false);
  });
});
