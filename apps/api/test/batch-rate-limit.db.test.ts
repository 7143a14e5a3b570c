import { describeDb } from '@herald/db/testing';
import { expect, it } from 'vitest';
import type { Tenant } from './harness';
import { createTenant, expectApiError, uniqueEmail } from './harness';

/**
 * A tRPC batch (`/trpc/a,b,c?batch=1`) is one HTTP request of several
 * procedure calls: each call counts against the rate limit, and a batch has
 * a maximum size. REST requests stay one unit each.
 */

type BatchItem =
  | { result: { data: unknown } }
  | { error: { message: string; data: { httpStatus: number; herald: { code: string; message: string } } } };

function batchPath(procedure: string, calls: number) {
  return `/trpc/${Array(calls).fill(procedure).join(',')}?batch=1`;
}

async function batchResults(response: Response): Promise<BatchItem[]> {
  const body: unknown = await response.json();
  expect(Array.isArray(body), JSON.stringify(body).slice(0, 300)).toBe(true);
  return body as BatchItem[];
}

const heraldCodes = (items: BatchItem[]) => items.map((item) => ('error' in item ? item.error.data.herald.code : 'ok'));

/** `r` of the `RateLimit` header: requests left in the window. */
function remaining(response: Response): number {
  const match = /;r=(\d+);/.exec(response.headers.get('ratelimit') ?? '');
  expect(match, 'RateLimit header').not.toBeNull();
  return Number(match![1]);
}

describeDb('tRPC batches and the rate limit', (t) => {
  const limited = (requests: number, maxBatchSize?: number) =>
    createTenant(t.db, {
      config: { rateLimit: { requests, windowSeconds: 60 }, ...(maxBatchSize ? { maxBatchSize } : {}) },
    });

  it('a batch of more than maxBatchSize calls (default 20) is refused whole: 400 batch_too_large', async () => {
    const tenant = await limited(1000);
    const error = await expectApiError(await tenant.request(batchPath('events.types', 60)), 400, 'batch_too_large');
    expect(error.message).toMatch(/at most 20/);
    expect((await tenant.request(batchPath('events.types', 20))).status).toBe(200);
    await expectApiError(await tenant.request(batchPath('events.types', 21)), 400, 'batch_too_large');
    // Commas percent-encoded are still commas to tRPC, so they count too.
    const encoded = `/trpc/${Array(21).fill('events.types').join('%2C')}?batch=1`;
    await expectApiError(await tenant.request(encoded), 400, 'batch_too_large');
  });

  it('maxBatchSize is configurable', async () => {
    const tenant = await limited(1000, 3);
    expect((await tenant.request(batchPath('events.types', 3))).status).toBe(200);
    await expectApiError(await tenant.request(batchPath('events.types', 4)), 400, 'batch_too_large');
  });

  it('every call of a batch counts: past the budget, calls answer 429 rate_limited inside the batch, the rest run', async () => {
    const tenant = await limited(5);
    const response = await tenant.request(batchPath('events.types', 8));
    expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(remaining(response)).toBe(0);
    const items = await batchResults(response);
    expect(heraldCodes(items)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', ...Array(3).fill('rate_limited')]);
    for (const item of items.slice(5)) {
      if (!('error' in item)) throw new Error('expected an error');
      expect(item.error.data.httpStatus).toBe(429);
      expect(item.error.data.herald.message).toMatch(/each call of a batch counts/);
    }
    // The window is spent: the next request is refused whole, REST or tRPC.
    await expectApiError(await tenant.request('/v1/event-types'), 429, 'rate_limited');
    await expectApiError(await tenant.request(batchPath('events.types', 2)), 429, 'rate_limited');
  });

  it('six logins.create in one batch are six units', async () => {
    const tenant = await limited(10);
    // An email each: six wrong passwords for one email would meet the login throttle's limit (5).
    const input = Object.fromEntries(
      Array.from({ length: 6 }, (_, i) => [i, { email: uniqueEmail('batch'), password: `wrong ${i}` }]),
    );
    const first = await tenant.request(batchPath('logins.create', 6), { method: 'POST', json: input });
    expect(heraldCodes(await batchResults(first))).toEqual(Array(6).fill('invalid_credentials'));
    expect(remaining(first)).toBe(4);
    const second = await tenant.request(batchPath('logins.create', 6), {
      method: 'POST',
      json: Object.fromEntries(Array.from({ length: 6 }, (_, i) => [i, { email: uniqueEmail(), password: 'x' }])),
    });
    expect(heraldCodes(await batchResults(second))).toEqual([
      ...Array(4).fill('invalid_credentials'),
      'rate_limited',
      'rate_limited',
    ]);
  });

  it('REST requests and unbatched tRPC calls stay one unit each', async () => {
    const tenant: Tenant = await limited(10);
    const rest = await tenant.request('/v1/event-types');
    expect(remaining(rest)).toBe(9);
    const single = await tenant.request('/trpc/events.types');
    expect(remaining(single)).toBe(8);
    // Without batch=1, "a,b" is one (unknown) procedure path: one unit.
    const unbatched = await tenant.request('/trpc/events.types,events.types');
    expect(unbatched.status).toBe(404);
    expect(remaining(unbatched)).toBe(7);
  });
});
