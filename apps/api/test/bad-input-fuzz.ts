import { httpStatusFor } from '@herald/router';
import fc from 'fast-check';
import { expect } from 'vitest';
import { apiErrorBodySchema } from './harness';

/**
 * Shared pieces of the request fuzzers (bad-input-requests / bad-input-trpc):
 * arbitraries for the parts of a request that are not a body's fields, and
 * the one check every answer must pass.
 */

/** Generated inputs run so far in this file: each suite prints its count. */
export const fuzzCount = { runs: 0 };

/** A printable header value (Latin-1, no CR/LF/NUL): what a hostile client can put on the wire. */
const headerUnit = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
  { weight: 1, arbitrary: fc.constant(0x09) },
);
export const headerValueArb = fc.oneof(
  fc.array(headerUnit, { maxLength: 40 }).map((units) => String.fromCharCode(...units).trim()),
  fc.integer({ min: 100, max: 9000 }).map((n) => 'k'.repeat(n)),
  fc.constantFrom('', ' ', 'null', 'undefined', '\u00ff\u00fe', '%00', '../../etc/passwd'),
);

export const contentTypeArb = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/merge-patch+json',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/jsonx',
    'application/json; charset=latin1; x=\u00e9',
    'APPLICATION/JSON',
  ),
  headerValueArb,
);

/** Authorization headers: none, junk, other schemes, made-up and truncated keys, the admin token in the wrong place. */
export function authorizationArb(validKey: string, adminToken: string) {
  return fc.oneof(
    fc.constantFrom(
      `Bearer ${validKey}`,
      `Bearer ${validKey.slice(0, -1)}`,
      `bearer ${validKey}`,
      `Bearer  ${validKey}`,
      `Basic ${Buffer.from('a:b').toString('base64')}`,
      `Bearer ${adminToken}`,
      'Bearer ',
      'Bearer',
      'Bearer sk_',
      '',
    ),
    headerValueArb.map((value) => `Bearer sk_${value}`),
    headerValueArb,
  );
}

/** JSON text nested `depth` levels deep, as objects, arrays or a mix. */
export function nestedJson(depth: number, style: 'object' | 'array' | 'mixed'): string {
  let open = '';
  let close = '';
  for (let i = 0; i < depth - 1; i++) {
    const asArray = style === 'array' || (style === 'mixed' && i % 2 === 1);
    open += asArray ? '[' : '{"k":';
    close = (asArray ? ']' : '}') + close;
  }
  return `${open}{}${close}`;
}

/** Depths past the limit (32), from just over to far past where recursion used to overflow. */
export const tooDeepArb = fc.record({
  depth: fc.oneof(fc.integer({ min: 33, max: 40 }), fc.integer({ min: 41, max: 3000 })),
  style: fc.constantFrom('object' as const, 'array' as const, 'mixed' as const),
});

/** JSON that is not JSON, including texts a naive parser could choke on. */
export const invalidJsonArb = fc.oneof(
  fc.constantFrom('{', '}', '{"a":1,}', "{'a':1}", '{"a":01}', 'NaN', '[1,]', '{"a":"\\x"}', '\u0000', '{"a":1}}'),
  fc.string({ maxLength: 30 }).filter((text) => {
    if (text.trim() === '') return false;
    try {
      JSON.parse(text);
      return false;
    } catch {
      return true;
    }
  }),
);

/**
 * Every answer: no 5xx, JSON, and an error is `{ error: { code, message, details? } }`
 * whose code means the answer's status.
 */
export async function expectCleanRestAnswer(
  response: Response,
  label: string,
): Promise<{ code?: string; message?: string }> {
  fuzzCount.runs += 1;
  const text = await response.text();
  expect(response.status, `${label} → ${text.slice(0, 300)}`).toBeLessThan(500);
  if (response.status < 400) return {};
  const { error } = apiErrorBodySchema.parse(JSON.parse(text));
  expect(
    httpStatusFor[error.code as keyof typeof httpStatusFor],
    `${label}: ${error.code} for ${response.status}`,
  ).toBe(response.status);
  return error;
}
