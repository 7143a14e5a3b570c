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
