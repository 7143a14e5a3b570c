import { describe, expect, it } from 'vitest';
import { forwardDelivery } from '../src/forward';
import { startServer } from './harness';

/** What `herald listen` reports to Herald as the local answer's Retry-After (Herald plans the next retry on it). */
describe('forwardDelivery: retryAfterSeconds', () => {
  it.each([
    ['no Retry-After header', undefined, null],
    ['delta-seconds', '120', 120],
    ['delta-seconds past a day', '999999', 86_400],
    ['a negative number', '-5', null],
    ['a fraction', '1.5', null],
    ['an empty value', '', null],
    ['text', 'soon', null],
    ['an HTTP-date in the past', 'Wed, 21 Oct 2015 07:28:00 GMT', 0],
  ])('reads %s (%j) as %j', async (_case, retryAfter, expected) => {
    const server = await startServer((_request, response) => {
      response.writeHead(503, retryAfter === undefined ? {} : { 'retry-after': retryAfter });
      response.end('restarting');
    });
    const result = await forwardDelivery(server.url, { body: '{}', headers: {} }, 5_000);
    expect(result).toMatchObject({ statusCode: 503, errorClass: 'http_status', retryAfterSeconds: expected });
  });

  it('reads an HTTP-date as the seconds until then', async () => {
    const at = new Date(Date.now() + 60_000).toUTCString();
    const server = await startServer((_request, response) => {
      response.writeHead(429, { 'retry-after': at });
      response.end();
    });
    const result = await forwardDelivery(server.url, { body: '{}', headers: {} }, 5_000);
    expect(result.retryAfterSeconds).toBeGreaterThanOrEqual(58);
    expect(result.retryAfterSeconds).toBeLessThanOrEqual(60);
  });
});

/** How much of the local answer `herald listen` reads: the dispatcher's 4 KB excerpt, never the whole body. */
describe('forwardDelivery: the local answer', () => {
  /** A receiver that answers `status` and then writes `chunk` for as long as the connection stays open. */
  async function streamingReceiver(status: number, chunk: Buffer) {
    let closed = false;
    let written = 0;
    const server = await startServer((_request, response) => {
      response.writeHead(status, { 'content-type': 'text/plain' });
      const pump = () => {
        while (!response.destroyed && response.write(chunk)) written += chunk.length;
      };
      response.on('drain', pump);
      response.on('close', () => (closed = true));
      pump();
    });
    return { url: server.url, closed: () => closed, written: () => written };
  }

  it('takes a 200 that streams forever as a success, keeps its first 4096 bytes and closes the connection', async () => {
    const receiver = await streamingReceiver(200, Buffer.alloc(64 * 1024, 'a'));
    const result = await forwardDelivery(receiver.url, { body: '{}', headers: {} }, 5_000);
    expect(result).toMatchObject({ statusCode: 200, errorClass: null, errorMessage: null });
    expect(result.responseBody).toBe('a'.repeat(4096));
    await expect.poll(receiver.closed).toBe(true);
    const written = receiver.written();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.written()).toBe(written);
  });

  it('reports a streaming 500 at once, with the excerpt', async () => {
    const receiver = await streamingReceiver(500, Buffer.from('boom '));
    const result = await forwardDelivery(receiver.url, { body: '{}', headers: {} }, 5_000);
    expect(result).toMatchObject({ statusCode: 500, errorClass: 'http_status', errorMessage: 'HTTP 500' });
    expect(result.responseBody).toBe('boom '.repeat(1000).slice(0, 4096));
  });

  it('cuts at 4096 bytes of UTF-8, dropping a character the cut splits', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200);
      response.end(`a${'é'.repeat(3000)}`);
    });
    const result = await forwardDelivery(server.url, { body: '{}', headers: {} }, 5_000);
    // 'a' and 2047 two-byte 'é' fill 4095 bytes; the next 'é' would pass 4096.
    expect(result.responseBody).toBe(`a${'é'.repeat(2047)}`);
  });

  it('stops waiting for a receiver that never answers as soon as `stop` aborts, with nothing to report', async () => {
    const server = await startServer(() => {});
    const stop = new AbortController();
    const started = Date.now();
    setTimeout(() => stop.abort(), 200);
    const result = await forwardDelivery(server.url, { body: '{}', headers: {} }, 60_000, stop.signal);
    expect(result).toBeNull();
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
