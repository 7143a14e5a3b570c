import { connect } from 'node:net';
import { describeDb } from '@herald/db/testing';
import { expect, it } from 'vitest';
import { listen } from '../src/server';
import { createTestApp } from './harness';

/** Sends `head` as is on a raw socket and returns what comes back until the server has answered. */
function rawRequest(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(head));
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
    } finally {
      await server.close();
    }
  });
});
