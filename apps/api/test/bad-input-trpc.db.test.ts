import { describeDb } from '@herald/db/testing';
import { httpStatusFor } from '@herald/router';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '../src/middleware/json-body';
import { restProcedures } from '../src/rest/procedures';
import { anyJsonArb } from './bad-input.arbitraries';
import { contentTypeArb, fuzzCount, invalidJsonArb, nestedJson, tooDeepArb } from './bad-input-fuzz';
import type { Tenant } from './harness';
import { createTenant } from './harness';

/**
 * Generated bad tRPC requests, in-process: every procedure with the wrong
 * method, any input, malformed or deep JSON; batches that are huge, mix
 * unknown names, or disagree with `batch=1`. Every answer is < 500, and
 * every error (the middleware's REST shape, tRPC's own, or one call's inside
 * a batch) carries a public code that means its HTTP status.
 */

const RUNS_PER_PROCEDURE = 130;
/** What `refuseNonJsonBody` takes as JSON. */
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;.*)?$/i;
const OTHER_CHARSET = /;\s*charset\s*=\s*(?!"?(?:utf-?8|us-ascii)"?\s*(?:;|$))/i;
const BATCH_RUNS = 2000;

const procedures = restProcedures().map((p) => ({
  path: p.path,
  type: p.openapi.method === 'GET' ? ('query' as const) : ('mutation' as const),
}));
const procedureNames = procedures.map((p) => p.path);
const unknownNames = ['nope', 'users', 'users.create.x', '', '__proto__', 'constructor', 'users.__proto__', 'a%2Cb'];

interface TrpcError {
  message: string;
  data?: { httpStatus: number; herald?: { code: string; message: string } };
}

/** Checks one answer; returns the herald codes seen (one per call, or the middleware's). */
async function expectCleanTrpcAnswer(response: Response, label: string): Promise<string[]> {
  fuzzCount.runs += 1;
  const text = await response.text();
  expect(response.status, `${label} → ${text.slice(0, 300)}`).toBeLessThan(500);
  const body: unknown = JSON.parse(text);
  const codeOf = (error: TrpcError, status: number) => {
    const herald = error.data?.herald;
    expect(herald, `${label}: no herald code in ${text.slice(0, 300)}`).toBeDefined();
    expect(httpStatusFor[herald!.code as keyof typeof httpStatusFor], `${label}: ${herald!.code} for ${status}`).toBe(
      status,
    );
    return herald!.code;
  };
  if (Array.isArray(body)) {
    return body.map((item: { result?: unknown; error?: TrpcError }) => {
      if (!item.error) return 'ok';
      expect(item.error.data?.httpStatus, label).toBeLessThan(500);
      return codeOf(item.error, item.error.data!.httpStatus);
    });
  }
  const { error } = body as { error?: TrpcError | { code: string } };
  if (response.status < 400 || !error) return ['ok'];
  // Refusals of the middleware before tRPC ran come in tRPC's envelope too: tRPC clients read them.
  expect(typeof (error as { code?: unknown }).code, `${label}: REST-shaped ${text.slice(0, 300)}`).toBe('number');
  return [codeOf(error as TrpcError, response.status)];
}

const inputTextArb = fc.oneof(
  {
    weight: 3,
    arbitrary: anyJsonArb.map((value) => ({ kind: 'any' as const, text: JSON.stringify(value) ?? 'null' })),
  },
  { weight: 1, arbitrary: invalidJsonArb.map((text) => ({ kind: 'not json' as const, text })) },
  {
    weight: 1,
    arbitrary: tooDeepArb.map(({ depth, style }) => ({ kind: 'deep' as const, text: nestedJson(depth, style) })),
  },
);

describeDb('generated bad tRPC requests (fast-check)', (t) => {
  let tenant: Tenant;
  beforeAll(async () => {
    tenant = await createTenant(t.db, { config: { bodyLimitBytes: 64 * 1024 } });
  });
  afterAll(() => {
    console.log(
      `bad-input-trpc [${t.driver}]: ${fuzzCount.runs} generated requests on ${procedures.length} procedures`,
    );
  });

  function send(method: 'GET' | 'POST', path: string, query: string, body?: string, contentType = 'application/json') {
    const headers: Record<string, string> = { authorization: `Bearer ${tenant.apiKey}` };
    if (body !== undefined) headers['content-type'] = contentType;
    return tenant.testApp.app.request(`/trpc/${path}${query}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
    });
  }

  describe.each(procedures.map((p) => [p.path, p] as const))('%s', (_path, procedure) => {
    it('any method, any input: < 500, a public code of the right status; 405 is method_not_allowed', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('GET' as const, 'POST' as const),
          inputTextArb,
          fc.option(contentTypeArb, { nil: undefined, freq: 4 }),
          async (method, input, contentType) => {
            const query = method === 'GET' ? `?input=${encodeURIComponent(input.text)}` : '';
            const body = method === 'POST' ? input.text : undefined;
            const label = `${method} ${procedure.path} ${input.text.slice(0, 200)} (${contentType})`;
            const response = await send(method, procedure.path, query, body, contentType);
            const [code] = await expectCleanTrpcAnswer(response, label);
            const rightMethod = method === (procedure.type === 'query' ? 'GET' : 'POST');
            // tRPC itself reads only application/json (415 for `+json` types the middleware lets through).
            // The middleware takes JSON in UTF-8 only (a `charset` naming another: 415).
            const utf8 = contentType === undefined || !OTHER_CHARSET.test(contentType);
            const jsonBody =
              method === 'GET' ||
              contentType === undefined ||
              (utf8 && contentType.split(';')[0]!.trim().toLowerCase() === 'application/json');
            const passesMiddleware =
              method === 'GET' || contentType === undefined || (utf8 && JSON_TYPE.test(contentType));
            if (input.kind === 'deep' && passesMiddleware)
              expect({ label, code }).toEqual({ label, code: 'validation_error' });
            else if (!rightMethod && jsonBody && input.kind !== 'not json') {
              expect({ label, status: response.status, code }).toEqual({
                label,
                status: 405,
                code: 'method_not_allowed',
              });
            }
          },
        ),
        { numRuns: RUNS_PER_PROCEDURE },
      );
    });
  });

  it('batches: huge, unknown names, malformed input, batch=1 mismatches', async () => {
    const nameArb = fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...procedureNames) },
      { weight: 1, arbitrary: fc.constantFrom(...unknownNames) },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET' as const, 'POST' as const),
        fc.oneof(
          fc.array(nameArb, { minLength: 1, maxLength: 8 }),
          fc.array(nameArb, { minLength: 15, maxLength: 60 }),
        ),
        fc.constantFrom('?batch=1', '?batch=1', '', '?batch=0', '?batch=true', '?batch=1&batch=0', '?batch='),
        fc.oneof(
          fc
            .array(anyJsonArb, { maxLength: 8 })
            .map((inputs) => JSON.stringify(Object.fromEntries(inputs.map((input, i) => [i, input])))),
          inputTextArb.map((input) => input.text),
          fc.constantFrom('[]', '[{}]', '{"-1":{}}', '{"0":', '{"__proto__":{"a":1}}', 'null', '"0"'),
        ),
        async (method, names, batch, inputText) => {
          const path = names.join(',');
          const query = method === 'GET' ? `${batch}${batch ? '&' : '?'}input=${encodeURIComponent(inputText)}` : batch;
          const label = `${method} ${path.slice(0, 200)}${query.slice(0, 200)} ${inputText.slice(0, 100)}`;
          const response = await send(method, encodeURI(path), query, method === 'POST' ? inputText : undefined);
          const codes = await expectCleanTrpcAnswer(response, label);
          const batched = new URLSearchParams(batch).get('batch') === '1';
          if (batched && names.length > 20) {
            // Too deep an input is refused first, as for any request.
            const refusal = jsonDepthExceeds(inputText, MAX_JSON_DEPTH + 1) ? 'validation_error' : 'batch_too_large';
            expect({ label, codes }).toEqual({ label, codes: [refusal] });
          }
        },
      ),
      { numRuns: BATCH_RUNS },
    );
  });
});
