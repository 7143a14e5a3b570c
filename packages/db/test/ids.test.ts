import { describe, expect, it } from 'vitest';
import { idTimestamp, newId, newIdAt } from '../src/ids';

describe('newId', () => {
  it('prefixes ids with their kind', () => {
    expect(newId('user')).toMatch(/^usr_[0-9a-z]{26}$/);
    expect(newId('event')).toMatch(/^evt_/);
    expect(newId('endpoint')).toMatch(/^ep_/);
    expect(newId('delivery')).toMatch(/^dlv_/);
  });

  it('sorts by creation time, also within one millisecond', () => {
    const ids = Array.from({ length: 2000 }, () => newId('event'));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('sorts across milliseconds as plain strings', () => {
    const early = newId('event', Date.UTC(2026, 0, 1));
    const late = newId('event', Date.UTC(2026, 0, 1) + 1);
    expect(early < late).toBe(true);
  });

  it('encodes its creation time', () => {
    const at = Date.now() + 10_000;
    expect(idTimestamp(newId('user', at))?.getTime()).toBe(at);
    expect(idTimestamp('usr_nope')).toBeNull();
  });

  it('newIdAt draws fresh random bits for every id, across refills of its random pool', () => {
    // 10,000 ids at one millisecond: about 25 refills of the 4 KiB pool, 10 bytes per id.
    const ids = Array.from({ length: 10_000 }, () => newIdAt('attempt', 1_700_000_000_000));
    expect(new Set(ids).size).toBe(ids.length);
    const randomParts = new Set(ids.map((id) => id.slice(-16)));
    expect(randomParts.size).toBe(ids.length);
  });
});
