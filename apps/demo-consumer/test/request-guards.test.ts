import { request as httpRequest } from 'node:http';
import { generateSecret } from '@herald/signing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningConsumer } from '../src';
import type { TestPlatform } from './harness';
import { startPlatform, startTestConsumer } from './harness';

let platform: TestPlatform;
let consumer: RunningConsumer;

beforeAll(async () => {
  platform = await startPlatform();
  consumer = await startTestConsumer(platform, { secrets: [generateSecret()] });
}, 60_000);

afterAll(async () => {
  await consumer?.close();
  await platform?.close();
});

/** A request to the consumer with exactly these headers (node:http: fetch would not send a Host of our choosing). */
function send(path: string, options: { method?: string; headers?: Record<string, string> } = {}) {
  return new Promise<{ status: number; body: any }>((resolve, reject) => {
    const request = httpRequest(`${consumer.url}${path}`, {
      method: options.method ?? 'GET',
      headers: options.headers,
    });
    request.on('response', (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      response.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {}
        resolve({ status: response.statusCode!, body });
      });
    });
    request.on('error', reject);
    request.end();
  });
}

const account = async () => (await send('/actions/account')).body.account;

describe('the demo consumer refuses other sites', () => {
  it.each([
    ['an Origin of another site', { origin: 'https://evil.example' }],
    ['an opaque Origin', { origin: 'null' }],
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site (another port)', { 'sec-fetch-site': 'same-site' }],
  ])('refuses an action POSTed with %s, and does not act', async (_case, headers) => {
    for (const action of ['create-user', 'delete-user']) {
      const answer = await send(`/actions/${action}`, { method: 'POST', headers });
      expect(answer).toEqual({
        status: 403,
        body: { error: { code: 'cross_site_request', message: 'actions can only be started from the demo page' } },
      });
    }
    expect(await account()).toBeNull();
  });

  it.each([
    ['GET', '/portal'],
    ['GET', '/actions/account'],
    ['GET', '/events'],
    ['POST', '/actions/create-user'],
  ])('refuses %s %s under a host name that is not this machine’s (DNS rebinding)', async (method, path) => {
    const port = new URL(consumer.url).port;
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1.evil.example:${port}`]) {
      // The rebound page's own origin: the same as the Host it sends.
      const answer = await send(path, { method, headers: { host, origin: `http://${host}` } });
      expect(answer).toEqual({
        status: 403,
        body: { error: { code: 'forbidden_host', message: 'open the demo consumer as localhost or 127.0.0.1' } },
      });
    }
    expect(await account()).toBeNull();
  });

  it('still runs an action from its own page, under each loopback name', async () => {
    const port = new URL(consumer.url).port;
    const created = await send('/actions/create-user', {
      method: 'POST',
      headers: { origin: consumer.url, 'sec-fetch-site': 'same-origin' },
    });
    expect(created).toMatchObject({ status: 200, body: { ok: true } });
    for (const host of [`localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`, `127.0.0.1:${port}`]) {
      expect((await send('/actions/account', { headers: { host } })).status).toBe(200);
    }
    const deleted = await send('/actions/delete-user', {
      method: 'POST',
      headers: { host: `localhost:${port}`, origin: `http://localhost:${port}`, 'sec-fetch-site': 'same-origin' },
    });
    expect(deleted).toMatchObject({ status: 200, body: { ok: true } });
  });

  it('leaves the webhook receiver to its signature check, whatever the Host', async () => {
    const answer = await send('/webhooks/herald', { method: 'POST', headers: { host: 'tunnel.example' } });
    expect(answer.status).not.toBe(403);
  });
});
