import { describe, expect, it } from 'vitest';
import { CLEAR_SECRET_BOX, SEALED_PREFIX, secretBox } from '../src/sealed-secrets';

const KEY = 'k'.repeat(40);
const OLD_KEY = 'o'.repeat(40);
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('sealed endpoint secrets', () => {
  it('seals under the key, bound to the endpoint, and opens what it sealed', () => {
    const box = secretBox({ current: KEY });
    const stored = box.seal(SECRET, 'ep_1');
    expect(stored.startsWith(`${SEALED_PREFIX}${box.keyId}:`)).toBe(true);
    expect(stored).not.toContain('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    // A fresh nonce per seal: one secret stored twice does not show as the same value.
    expect(box.seal(SECRET, 'ep_1')).not.toBe(stored);
    expect(box.open(stored, 'ep_1')).toBe(SECRET);
    expect(secretBox({ current: KEY }).open(stored, 'ep_1')).toBe(SECRET);
  });

  it("refuses another endpoint's value, another key's, and an altered one, without throwing", () => {
    const box = secretBox({ current: KEY });
    const stored = box.seal(SECRET, 'ep_1');
    expect(box.open(stored, 'ep_2')).toBeNull();
    expect(secretBox({ current: OLD_KEY }).open(stored, 'ep_1')).toBeNull();
    expect(CLEAR_SECRET_BOX.open(stored, 'ep_1')).toBeNull();
    const packed = stored.slice(stored.lastIndexOf(':') + 1);
    const flipped = `${packed.slice(0, 20)}${packed[20] === 'A' ? 'B' : 'A'}${packed.slice(21)}`;
    expect(box.open(stored.replace(packed, flipped), 'ep_1')).toBeNull();
    for (const junk of [
      SEALED_PREFIX,
      `${SEALED_PREFIX}${box.keyId}`,
      `${SEALED_PREFIX}${box.keyId}:`,
      `${SEALED_PREFIX}${box.keyId}:!!`,
    ]) {
      expect(box.open(junk, 'ep_1')).toBeNull();
    }
  });

  it('opens secrets stored in clear as they are, and seals nothing without a key', () => {
    expect(secretBox({ current: KEY }).open(SECRET, 'ep_1')).toBe(SECRET);
    expect(CLEAR_SECRET_BOX.sealing).toBe(false);
    expect(CLEAR_SECRET_BOX.seal(SECRET, 'ep_1')).toBe(SECRET);
  });

  it('opens values sealed under a previous key during a rotation, and seals under the current one', () => {
    const before = secretBox({ current: OLD_KEY }).seal(SECRET, 'ep_1');
    const rotated = secretBox({ current: KEY, previous: [OLD_KEY] });
    expect(rotated.open(before, 'ep_1')).toBe(SECRET);
    expect(rotated.seal(SECRET, 'ep_1').startsWith(`${SEALED_PREFIX}${rotated.keyId}:`)).toBe(true);
    expect(rotated.keyId).not.toBe(secretBox({ current: OLD_KEY }).keyId);
    // Only the previous key, no current one: opens, stores in clear.
    const openOnly = secretBox({ previous: [OLD_KEY] });
    expect(openOnly.open(before, 'ep_1')).toBe(SECRET);
    expect(openOnly.sealing).toBe(false);
  });
});
