import { connect } from 'node:net';
import { describeDb } from '@herald/db/testing';
import { expect, it } from 'vitest';
import { listen } from '../src/server';
import { createTestApp } from './harness';

/** Sends `head` as is on a raw socket and returns what comes back until the server has answered. */
function rawRequest(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(head, 'latin1'));
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(received)?.[1];
      if (end >= 0 && length !== undefined && received.length >= end + 4 + Number(length)) {
        socket.destroy();
        resolve(received);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
  });
}

describeDb('requests the app cannot be given', (t) => {
  it('a Host header that is not a host answers 400 with Herald’s JSON error, and the server goes on', async () => {
    const server = await listen(createTestApp(t.db).app);
    try {
      const answer = await rawRequest(server.port, 'GET /v1/users HTTP/1.1\r\nHost: [::1\r\n\r\n');
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { code: string } };
      expect(body.error.code).toBe('validation_error');
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(200);
      // HTTP/1.0 has no Host header to require.
      expect(await rawRequest(server.port, 'GET /healthz HTTP/1.0\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 /);
    } finally {
      await server.close();
    }
  });

  it.each([
    ['a request line over 16 KB', 431, `GET /v1/users?email=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`],
    ['a header over 16 KB', 431, `GET /v1/users HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`],
    ['an HTTP/1.1 request without a Host header', 400, 'GET /v1/users HTTP/1.1\r\n\r\n'],
    ['a NUL in the target', 400, 'GET /v1/users/usr_\u0000 HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a raw 0xFF in the target', 400, 'GET /v1/users/usr_\u00ff HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a Content-Length that is not a number', 400, 'POST /v1/users HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'],
    [
      'a bad chunk size',
      400,
      'POST /v1/users HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n',
    ],
  ])('%s answers %i with Herald’s JSON error, and the server goes on', async (_name, status, head) => {
    const server = await listen(createTestApp(t.db).app);
    try {
      const answer = await rawRequest(server.port, head);
      expect(answer.slice(0, 12)).toBe(`HTTP/1.1 ${status}`);
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { code: string } };
      expect(body.error.code).toBe('validation_error');
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
