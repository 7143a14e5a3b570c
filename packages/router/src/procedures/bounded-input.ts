import { z } from 'zod';

/**
 * `schema`, after a cheap check of the raw input that refuses it (400, `message`) before the schema
 * walks it: a free-form value's schema checks every entry before its size refinement runs, so a
 * 240 KB body of 80,000 empty objects cost 150–370 ms of CPU per request, a stall for every
 * tenant's requests, before it was refused as too large.
 */
export function checkedFirst<S extends z.ZodType>(check: (value: unknown) => string | null, schema: S): S {
  const checked = z.preprocess((value, ctx) => {
    const problem = check(value);
    // An issue here ends the parse: the schema never sees the value.
    if (problem) ctx.issues.push({ code: 'custom', message: problem, input: value });
    return value;
  }, schema);
  // Typed as `schema` itself (see withoutProtoKeys).
  return checked as unknown as S;
}

/** A plain object with more than `max` own keys (anything else is left to the schema). */
export function hasMoreKeysThan(value: unknown, max: number): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  let n = 0;
  for (const _ in value) if (++n > max) return true;
  return false;
}

/**
 * Whether parsed JSON `value` takes at most `limit` characters as `JSON.stringify` writes it, with
 * each number counted as PostgreSQL's `jsonb` prints it, without walking further once it does not.
 * `jsonb` keeps numbers exact and prints them without an exponent: `5e-324` is stored as 326
 * characters, so 682 of them in an 8 KB request became a 228 KB event (and webhook body).
 * Iterative: any depth.
 */
export function jsonbTextWithin(value: unknown, limit: number): boolean {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'string') size += JSON.stringify(item).length;
    else if (typeof item === 'number') size += numericTextLength(item);
    else if (item === null || item === true) size += 4;
    else if (typeof item !== 'object') size += 5;
    else if (Array.isArray(item)) {
      size += 2 + Math.max(0, item.length - 1);
      if (size > limit) return false;
      for (const element of item) stack.push(element);
    } else {
      // `{`, then per key `"key":` and a comma or the closing brace (`{}` alone: both braces).
      size += 1;
      let empty = true;
      for (const key in item) {
        empty = false;
        size += JSON.stringify(key).length + 2;
        stack.push((item as Record<string, unknown>)[key]);
        if (size > limit) return false;
      }
      if (empty) size += 1;
    }
    if (size > limit) return false;
  }
  return true;
}

/** Characters of `n` printed in full, without an exponent (as `numeric` prints it). */
function numericTextLength(n: number): number {
  const text = String(n);
  const e = text.indexOf('e');
  if (e === -1) return text.length;
  const mantissa = text.slice(0, e).replace(/[-.]/g, '').length;
  return mantissa + Math.abs(Number(text.slice(e + 1))) + 3;
}
