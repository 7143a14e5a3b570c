/**
 * PostgreSQL cannot store NUL in `text` or `jsonb`, and `jsonb` refuses a
 * lone UTF-16 surrogate (`\ud800`); the drivers turn either into a query
 * error, i.e. a 500. Input schemas refuse them up front instead, with a 400.
 * (With the `u` flag, `\p{Cs}` only matches surrogates that are not part of
 * a pair.)
 */
const UNSTORABLE = /[\u0000\p{Cs}]/u;

export const UNSTORABLE_TEXT_MESSAGE = 'text may not contain NUL characters or unpaired UTF-16 surrogates';

export function isStorableText(value: string): boolean {
  return !UNSTORABLE.test(value);
}

/** Every string in a JSON value, object keys included, is storable. Iterative: input nesting is the caller's choice. */
export function isStorableJson(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === 'string') {
      if (!isStorableText(item)) return false;
    } else if (Array.isArray(item)) {
      for (const child of item) pending.push(child);
    } else if (item !== null && typeof item === 'object') {
      for (const [key, child] of Object.entries(item)) {
        if (!isStorableText(key)) return false;
        pending.push(child);
      }
    }
  }
  return true;
}

/**
 * Text from outside (a receiver's answer, an error message) made storable:
 * NUL and unpaired surrogates become U+FFFD, so one receiver's odd bytes can
 * never fail the statement that records its attempt (and its neighbours').
 */
export function toStorableText(value: string): string;
export function toStorableText(value: string | null): string | null;
export function toStorableText(value: string | null): string | null {
  if (value === null || isStorableText(value)) return value;
  return value.replace(/[\u0000\p{Cs}]/gu, '\uFFFD');
}
