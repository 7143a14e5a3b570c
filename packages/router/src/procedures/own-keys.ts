import { z } from 'zod';

const PROTO = '__proto__';

/** True if `value` (parsed JSON) has an own `__proto__` key at any depth (JSON.parse makes one from `"__proto__":`). */
function hasProtoKey(value: unknown, depth = 0): boolean {
  if (depth > 64 || value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((item) => hasProtoKey(item, depth + 1));
  return Object.hasOwn(value, PROTO) || Object.values(value).some((item) => hasProtoKey(item, depth + 1));
}

/**
 * `schema` for a free-form object input (user metadata, endpoint headers) that refuses a
 * `__proto__` key, at any depth, with 400. zod builds its output by assignment, and assigning
 * `__proto__` sets the object's prototype instead: the key vanished from what was stored, silently.
 */
export function withoutProtoKeys<S extends z.ZodType>(schema: S): S {
  const checked = z.preprocess((value, ctx) => {
    if (hasProtoKey(value)) {
      ctx.issues.push({ code: 'custom', message: `"${PROTO}" is not allowed as a key`, input: value });
    }
    return value;
  }, schema);
  // Typed as `schema` itself: the check passes every other value through unchanged, and a
  // preprocess's own input type (`unknown`) would leave the typed clients' input untyped.
  return checked as unknown as S;
}
