import fc from 'fast-check';
import type { z } from 'zod';

/**
 * fast-check arbitraries for request bodies, derived from a route's zod
 * input schema: what a careless or hostile client could send.
 */

export type InputSchema = z.ZodType & { shape?: Record<string, z.ZodType> };

/** Any UTF-16 code unit: NUL, controls and lone surrogates included. */
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));

/** Strings that break naive storage: NUL, lone surrogates, controls, emoji, long text. */
export const hostileStringArb = fc.oneof(
  // Weighted up: a handful of runs per route must meet each of these.
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '\u0000',
      'a\u0000b',
      '\ud800',
      '\udfff',
      'x\ud83d',
      '\u202e',
      '💥',
      ' ',
      '\n',
      "'; drop table users; --",
      '__proto__',
      '%00',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: anyCodeUnit, maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 3000 }).map((n) => 'x'.repeat(n)) },
);

/** Any JSON value a client can put in a field, hostile strings included (also as keys). */
export const anyJsonArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3, stringUnit: anyCodeUnit }) },
  { weight: 2, arbitrary: hostileStringArb },
  { weight: 1, arbitrary: fc.dictionary(hostileStringArb, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(-1, 0, 1.5, 2 ** 53, -(2 ** 63), 1e308, true, null, [], {}, [null], { '': '' }),
  },
);

/** What the server will see: the value after a JSON round trip (undefined keys vanish, -0 becomes 0, …). */
export function onTheWire<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function fails(schema: InputSchema, input: unknown) {
  return !schema.safeParse(onTheWire(input)).success;
}

export type BadBody =
  | { kind: 'wrong value'; key: string; body: string }
  | { kind: 'unknown key'; key: string; body: string }
  | { kind: 'not an object'; body: string }
  | { kind: 'invalid JSON'; body: string }
  | { kind: 'too large'; body: string }
  | { kind: 'not JSON content'; body: string; contentType: string };

/**
 * Bodies that must be refused with a 4xx, for a route whose input is
 * `schema`; `base` is a valid body, `params` the path parameters the
 * server adds to it.
 */
export function badBodyArb(
  schema: InputSchema,
  base: Record<string, unknown>,
  params: Record<string, string>,
  bodyLimit: number,
): fc.Arbitrary<BadBody> {
  const keys = Object.keys(schema.shape ?? {}).filter((key) => !(key in params));
  const withParams = (body: Record<string, unknown>) => ({ ...body, ...params });

  const wrongValue = keys.length
    ? fc
        .constantFrom(...keys)
        .chain((key) => anyJsonArb.map((value) => ({ key, body: { ...base, [key]: value } })))
        .filter(({ body }) => fails(schema, withParams(body)))
        .map(({ key, body }) => ({ kind: 'wrong value' as const, key, body: JSON.stringify(body) }))
    : null;

  const unknownKey = fc
    .oneof(
      fc.constantFrom('__proto__', 'constructor', 'projectId', 'passwordHash', 'isAdmin', ''),
      fc.string({ unit: anyCodeUnit, maxLength: 12 }),
    )
    .filter((key) => !keys.includes(key) && !(key in params))
    .chain((key) => anyJsonArb.map((value) => ({ key, value })))
    // A computed key makes "__proto__" an own property, as JSON.parse does.
    .map(({ key, value }) => ({ kind: 'unknown key' as const, key, body: JSON.stringify({ ...base, [key]: value }) }));

  const notAnObject = fc
    .oneof(fc.jsonValue({ maxDepth: 2 }), fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }))
    .filter((value) => value === null || typeof value !== 'object' || Array.isArray(value))
    .map((value) => ({ kind: 'not an object' as const, body: JSON.stringify(value) }));

  const invalidJson = fc
    .oneof(
      fc.string({ unit: anyCodeUnit, minLength: 1, maxLength: 30 }),
      fc.json().map((text) => text.slice(0, -1)),
      fc.constantFrom('{', '{"a":1,}', "{'a':1}", '{"a":01}', '{"a":NaN}', '[1,]', 'undefined', '{"a":"\\x"}'),
    )
    .filter((text) => {
      // What the server decodes (UTF-8, a leading BOM dropped) must be non-blank and not JSON.
      const decoded = new TextDecoder().decode(new TextEncoder().encode(text));
      if (decoded.trim() === '') return false;
      try {
        JSON.parse(decoded);
        return false;
      } catch {
        return true;
      }
    })
    .map((body) => ({ kind: 'invalid JSON' as const, body }));

  const tooLarge = fc
    .integer({ min: bodyLimit + 1, max: bodyLimit * 3 })
    .map((size) => ({ kind: 'too large' as const, body: JSON.stringify({ ...base, padding: 'x'.repeat(size) }) }));

  const notJsonContent = fc
    .constantFrom(
      'text/plain',
      'application/x-www-form-urlencoded',
      'text/json',
      'application/xml',
      'multipart/form-data; boundary=b',
      'application/jsonx',
    )
    .map((contentType) => ({ kind: 'not JSON content' as const, body: JSON.stringify(base), contentType }));

  return fc.oneof(
    ...(wrongValue ? [{ weight: 4, arbitrary: wrongValue }] : []),
    { weight: 2, arbitrary: unknownKey },
    notAnObject,
    invalidJson,
    tooLarge,
    notJsonContent,
  );
}

/** The status and error code a correct server gives each kind of bad body. */
export function expectedRefusal(bad: BadBody): { status: number; codes: string[] } {
  switch (bad.kind) {
    case 'too large':
      return { status: 413, codes: ['payload_too_large'] };
    case 'not JSON content':
      return { status: 415, codes: ['unsupported_media_type'] };
    case 'invalid JSON':
      return { status: 400, codes: ['invalid_json'] };
    default:
      return { status: 400, codes: ['validation_error'] };
  }
}

/**
 * Any values for a route's fields, valid or not: the server may accept or
 * refuse them, but never fail on them.
 */
export function anyFieldsArb(schema: InputSchema, base: Record<string, unknown>, params: Record<string, string>) {
  const keys = Object.keys(schema.shape ?? {}).filter((key) => !(key in params));
  if (keys.length === 0) return fc.constant(base);
  return fc
    .subarray(keys, { minLength: 1, maxLength: Math.min(2, keys.length) })
    .chain((chosen) =>
      fc.tuple(
        ...chosen.map((key) =>
          fc
            .oneof({ weight: 3, arbitrary: hostileStringArb }, { weight: 1, arbitrary: anyJsonArb })
            .map((value) => [key, value] as const),
        ),
      ),
    )
    .map((entries) => ({ ...base, ...Object.fromEntries(entries) }));
}
