import { describeDb } from '@herald/db/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from './harness';
import { createTenant, eventsOf, expectApiError, uniqueEmail } from './harness';

const LIMIT = 4096;

/** A body of `bytes` bytes that is valid JSON for POST /v1/users. */
function userBodyOfSize(bytes: number): string {
  const head = `{"email":"${uniqueEmail('big')}","metadata":{"pad":"`;
  const tail = '"}}';
  return head + 'x'.repeat(bytes - head.length - tail.length) + tail;
}

/** A stream body, so no Content-Length can announce the size. */
function streamOf(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  return new ReadableStream({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 1024) controller.enqueue(bytes.subarray(i, i + 1024));
      controller.close();
    },
  });
}

describeDb('request bodies', (t) => {
  let tenant: Tenant;
  beforeAll(async () => {
    tenant = await createTenant(t.db, { config: { bodyLimitBytes: LIMIT } });
  });

  describe('size limit → 413 payload_too_large', () => {
    it('a body over the limit is refused by its Content-Length, before it is read', async () => {
      const body = userBodyOfSize(LIMIT + 1);
      const response = await tenant.request('/v1/users', {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
      });
      await expectApiError(response, 413, 'payload_too_large');
    });

    it('a streamed body without Content-Length is cut off once it passes the limit', async () => {
      const response = await tenant.request('/v1/users', {
        method: 'POST',
        body: streamOf(userBodyOfSize(LIMIT * 4)),
        headers: { 'content-type': 'application/json' },
        duplex: 'half',
      } as RequestInit);
      await expectApiError(response, 413, 'payload_too_large');
    });

    it('a body exactly at the limit is accepted', async () => {
      const response = await tenant.request('/v1/users', {
        method: 'POST',
        body: userBodyOfSize(LIMIT),
        headers: { 'content-type': 'application/json' },
      });
      expect(response.status).toBe(201);
    });

    it('applies to tRPC too, and nothing is written', async () => {
      const before = (await eventsOf(tenant)).length;
      const response = await tenant.request('/trpc/users.create', {
        method: 'POST',
        body: userBodyOfSize(LIMIT + 100),
        headers: { 'content-type': 'application/json' },
      });
      await expectApiError(response, 413, 'payload_too_large');
      expect(await eventsOf(tenant)).toHaveLength(before);
    });
  });

  describe('content type → 415 unsupported_media_type unless JSON', () => {
    it.each([
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonp',
      '',
    ])('Content-Type "%s"', async (type) => {
      const headers: Record<string, string> = type ? { 'content-type': type } : {};
      const body = JSON.stringify({ email: uniqueEmail() });
      await expectApiError(
        await tenant.request('/v1/users', { method: 'POST', body, headers }),
        415,
        'unsupported_media_type',
      );
      await expectApiError(
        await tenant.request('/trpc/users.create', { method: 'POST', body, headers }),
        415,
        'unsupported_media_type',
      );
    });

    it.each([
      'application/json',
      'application/json; charset=utf-8',
      'Application/JSON',
      'application/merge-patch+json',
    ])('accepts "%s"', async (type) => {
      const response = await tenant.request('/v1/users', {
        method: 'POST',
        body: JSON.stringify({ email: uniqueEmail() }),
        headers: { 'content-type': type },
      });
      expect(response.status).toBe(201);
    });

    it('a POST without a body needs no content type', async () => {
      expect((await tenant.request('/v1/api-keys', { method: 'POST' })).status).toBe(201);
    });
  });

  describe('malformed JSON → 400', () => {
    it.each(['{', '{"email": }', "{'email': 'x@example.com'}", '{"email":"a@example.com"} trailing'])(
      'invalid_json for %j',
      async (body) => {
        const error = await expectApiError(
          await tenant.request('/v1/users', { method: 'POST', body, headers: { 'content-type': 'application/json' } }),
          400,
          'invalid_json',
        );
        expect(error.message).toMatch(/not valid JSON/);
      },
    );

    it.each(['[]', '"text"', '42', 'null', 'true'])('validation_error for the non-object %s', async (body) => {
      await expectApiError(
        await tenant.request('/v1/users', { method: 'POST', body, headers: { 'content-type': 'application/json' } }),
        400,
        'validation_error',
      );
    });
  });

  it('an unknown route → 404 not_found in the same error shape', async () => {
    const error = await expectApiError(await tenant.request('/v1/nope'), 404, 'not_found');
    expect(error.message).toBe('No route for GET /v1/nope');
    await expectApiError(await tenant.request('/v1/users', { method: 'PUT', json: {} }), 404, 'not_found');
  });
});
