import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHeraldRestClient } from '../src/rest';
import { usersGet } from '../src/sdk';

/** A server that answers each path its own way: what a proxy or a broken deployment sends. */
const answers: Record<string, (res: ServerResponse) => void> = {
  '/html/v1/users/usr_1': (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>'),
  '/cut/v1/users/usr_1': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"usr_'),
  '/gateway/v1/users/usr_1': (res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad gateway</h1>'),
  '/other-json/v1/users/usr_1': (res) => res.writeHead(500, { 'content-type': 'application/json' }).end('{"oops":1}'),
  '/herald/v1/users/usr_1': (res) =>
    res
      .writeHead(404, { 'content-type': 'application/json' })
      .end('{"error":{"code":"not_found","message":"User not found"}}'),
  '/empty-503/v1/users/usr_1': (res) => res.writeHead(503, { 'content-length': '0' }).end(),
  '/empty-200/v1/users/usr_1': (res) => res.writeHead(200, { 'content-length': '0' }).end(),
  '/ok/v1/users/usr_1': (res) =>
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end('{"id":"usr_1"}'),
};

let base = '';
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const answer = answers[req.url ?? ''];
  if (answer) answer(res);
  else res.writeHead(404).end();
});
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const get = (prefix: string) =>
  usersGet({
    client: createHeraldRestClient({ baseUrl: `${base}${prefix}`, apiKey: 'sk_test' }),
    path: { id: 'usr_1' },
  });

describe('the REST client and answers that are not Herald’s', () => {
  it.each(['/html', '/cut', '/gateway', '/other-json'])(
    '%s: an error in Herald’s shape, never data or a throw',
    async (prefix) => {
      const { data, error, response } = await get(prefix);
      expect(data).toBeUndefined();
      expect(error).toMatchObject({
        error: { code: 'invalid_response', message: expect.stringContaining('not a Herald answer') },
      });
      expect(response.status).toBe(prefix === '/html' || prefix === '/cut' ? 502 : prefix === '/gateway' ? 502 : 500);
    },
  );

  it.each([
    ['/empty-503', 503],
    ['/empty-200', 502],
  ])('%s: an empty body is no Herald answer either (its status kept, 502 for a 2xx)', async (prefix, status) => {
    const { data, error, response } = await get(prefix);
    expect(data).toBeUndefined();
    expect(error).toMatchObject({
      error: { code: 'invalid_response', message: expect.stringContaining('an empty body') },
    });
    expect(response.status).toBe(status);
  });

  it('Herald’s own errors and answers pass unchanged', async () => {
    expect((await get('/herald')).error).toEqual({ error: { code: 'not_found', message: 'User not found' } });
    expect((await get('/ok')).data).toEqual({ id: 'usr_1' });
  });

  it('no answer at all: network_error in the same shape', async () => {
    const { error, response } = await usersGet({
      client: createHeraldRestClient({ baseUrl: 'http://127.0.0.1:1', apiKey: 'sk_test' }),
      path: { id: 'usr_1' },
    });
    // No answer: the standard network-error response (it was `undefined` typed `Response`, and
    // reading `response.status` threw).
    expect(response.type).toBe('error');
    expect(response.status).toBe(0);
    expect(error).toMatchObject({ error: { code: 'network_error', message: expect.stringContaining('No answer') } });
    // The SDK's error type admits the client's own codes (a comparison with them compiles).
    expect(error?.error.code === 'network_error' || error?.error.code === 'invalid_response').toBe(true);
  });
});
