import { timingSafeEqual } from 'node:crypto';

/**
 * Constant-time byte comparison that returns `false` instead of throwing when
 * lengths differ (`crypto.timingSafeEqual` throws on unequal lengths).
 *
 * The work done depends only on `expected.length`, never on the contents of
 * either input or on where they differ. Pass the value whose length is already
 * public (e.g. the locally computed signature) as `expected`.
 */
export function timingSafeEqualBytes(expected: Uint8Array, actual: Uint8Array): boolean {
  const sameLength = expected.length === actual.length;
  // On a length mismatch we still do a full-length comparison (against itself)
  // so the mismatch is not distinguishable by a shorter running time.
  const comparand = sameLength ? actual : expected;
  return timingSafeEqual(expected, comparand) && sameLength;
}

/** {@link timingSafeEqualBytes} over the UTF-8 encodings of two strings. */
export function timingSafeEqualString(expected: string, actual: string): boolean {
  return timingSafeEqualBytes(Buffer.from(expected, 'utf8'), Buffer.from(actual, 'utf8'));
}
