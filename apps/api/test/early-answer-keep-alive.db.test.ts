import http from 'node:http';
import type { Socket } from 'node:net';
import { endpoints, newId } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningServer } from '../src/server';
import { listen } from '../src/server';
import type { Tenant } from './harness';
import { createTenant, uniqueEmail } from './harness';

/**
 * Answers given before the request body is read (413, 415, 429, 401) must
 * leave a keep-alive connection usable: a real server, a real client with
 * one socket, and the request after the refused one must succeed.
 */

const BODY_LIMIT = 4096;

const quietSockets = new WeakSet<object>();
/** A write after the server answered and closed fails on the socket: expected here, so not an unhandled error. */
function ignoreLateSocketErrors(socket: Socket) {
  if (quietSockets.has(socket)) return;
  quietSockets.add(socket);
  socket.on('error', () => {});
}

interface Answer {
  status: number;
  connection: string | undefined;
  body: string;
  /** The client's port: the same port means the same connection. */
  localPort: number | undefined;
}

describeDb('early answers on a keep-alive connection', (t) => {
  let server: RunningServer;
  let tenant: Tenant;
  let agent: http.Agent;
  let endpointId: string;

  beforeAll(async () => {
    tenant = await createTenant(t.db, { config: { bodyLimitBytes: BODY_LIMIT } });
    server = await listen(tenant.testApp.app);
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    endpointId = newId('endpoint');
    await t.db.insert(endpoints).values({ id: endpointId, projectId: tenant.projectId, url: 'https://example.com/h' });
  });
  afterAll(async () => {
    agent.destroy();
    await server.close();
  });

  /**
   * One request on the agent's single socket. `body` is written in 64 KiB
   * chunks; the server may answer and close before all of it is sent, so a
   * write error after the answer is the client's problem, not a failure.
   */
  function send(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: Buffer | string,
    chunked = false,
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      let answered = false;
      const request = http.request(`${server.url}${path}`, { method, headers, agent }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => {
          answered = true;
          resolve({
            status: response.statusCode ?? 0,
            connection: response.headers.connection,
            body: text,
            localPort: request.socket?.localPort,
          });
        });
      });
      request.on('error', (error) => {
        if (!answered) reject(error);
      });
      request.on('socket', ignoreLateSocketErrors);
      if (body !== undefined) {
        const bytes = typeof body === 'string' ? Buffer.from(body) : body;
        if (chunked) for (let i = 0; i < bytes.length; i += 65_536) request.write(bytes.subarray(i, i + 65_536));
        else request.write(bytes);
      }
      request.end();
    });
  }

  const auth = () => ({ authorization: `Bearer ${tenant.apiKey}` });

  /** The follow-up: a normal authenticated read on the same agent. */
  async function followUp() {
    const answer = await send('GET', '/v1/users', auth());
    expect(answer.status).toBe(200);
    return answer;
  }

  it('413 by Content-Length for a 2 MB body: the body is drained and the connection serves the next request', async () => {
    const warm = await followUp();
    const size = 2_000_000;
    const refused = await send(
      'POST',
      '/v1/users',
      { ...auth(), 'content-type': 'application/json', 'content-length': String(size) },
      Buffer.alloc(size, 'x'),
    );
    expect(refused.status).toBe(413);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'payload_too_large' } });
    const next = await followUp();
    expect(next.localPort).toBe(warm.localPort);
  });

  it('413 for a chunked body cut off at the limit, then the next request', async () => {
    const refused = await send(
      'POST',
      '/trpc/users.create',
      { ...auth(), 'content-type': 'application/json' },
      `{"email":"${uniqueEmail()}","name":"${'x'.repeat(1_000_000)}"}`,
      true,
    );
    expect(refused.status).toBe(413);
    await followUp();
  });

  it('415 for a large non-JSON body, then the next request on the same connection', async () => {
    const warm = await followUp();
    const refused = await send(
      'POST',
      `/v1/endpoints/${endpointId}/rotate-secret`,
      { ...auth(), 'content-type': 'text/plain', 'content-length': String(3_000) },
      'y'.repeat(3_000),
    );
    expect(refused.status).toBe(415);
    const big = await send(
      'POST',
      '/v1/users',
      { ...auth(), 'content-type': 'text/plain' },
      Buffer.alloc(1_500_000, 'z'),
      true,
    );
    expect([413, 415]).toContain(big.status);
    expect((await followUp()).localPort).toBe(warm.localPort);
  });

  it('401 for a bad key with a large body, then the next request', async () => {
    const refused = await send(
      'POST',
      '/v1/users',
      { authorization: 'Bearer sk_nope', 'content-type': 'application/json', 'content-length': String(1_000_000) },
      Buffer.alloc(1_000_000, ' '),
    );
    expect([401, 413]).toContain(refused.status);
    const small = await send(
      'POST',
      '/v1/users',
      { authorization: 'Bearer sk_nope', 'content-type': 'application/json' },
      `{"email":"${uniqueEmail()}"}`,
    );
    expect(small.status).toBe(401);
    await followUp();
  });

  it('a declared body too large to drain: Connection: close, and the next request gets a new connection', async () => {
    const size = 64 * 1024 * 1024;
    // Only the start is sent: the server must not wait for the rest.
    const refused = await new Promise<Answer>((resolve, reject) => {
      const request = http.request(
        `${server.url}/v1/users`,
        {
          method: 'POST',
          agent,
          headers: { ...auth(), 'content-type': 'application/json', 'content-length': String(size) },
        },
        (response) => {
          response.resume();
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              connection: response.headers.connection,
              body: '',
              localPort: 0,
            }),
          );
        },
      );
      request.on('error', reject);
      request.on('socket', ignoreLateSocketErrors);
      request.write(Buffer.alloc(65_536, 'x'));
    });
    expect(refused.status).toBe(413);
    expect(refused.connection).toBe('close');
    await followUp();
  });

  it('a chunked POST with an empty body is no body: 200, not 415', async () => {
    const answer = await send('POST', `/v1/endpoints/${endpointId}/rotate-secret`, {
      ...auth(),
      'transfer-encoding': 'chunked',
    });
    expect(answer.status).toBe(200);
    await followUp();
  });
});

describeDb('429 before the body is read, on a keep-alive connection', (t) => {
  // The first is refused with its body read (a name too long: 400; a portal form over 16 KiB: 413),
  // the others by the rate limit, their bodies unread.
  const refusals = [
    { path: '/v1/users', type: 'application/json', first: 400 },
    { path: '/portal/open', type: 'application/x-www-form-urlencoded', first: 413 },
  ];
  it.each(refusals)(
    '$path: a body refused by the rate limit is drained and the next request on the connection is answered',
    async ({ path, type, first }) => {
      const tenant = await createTenant(t.db, { config: { rateLimit: { requests: 1, windowSeconds: 60 } } });
      const server = await listen(tenant.testApp.app);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const statuses: number[] = [];
        const ports = new Set<number | undefined>();
        for (let i = 0; i < 3; i++) {
          const answer = await new Promise<{ status: number; port: number | undefined }>((resolve, reject) => {
            const body = Buffer.from(
              type === 'application/json'
                ? JSON.stringify({ email: uniqueEmail(), name: 'x'.repeat(200_000) })
                : `token=hpl_guess&pad=${'x'.repeat(200_000)}`,
            );
            const request = http.request(
              `${server.url}${path}`,
              {
                method: 'POST',
                agent,
                headers: {
                  authorization: `Bearer ${tenant.apiKey}`,
                  'content-type': type,
                  'content-length': String(body.length),
                },
              },
              (response) => {
                response.resume();
                response.on('end', () =>
                  resolve({ status: response.statusCode ?? 0, port: request.socket?.localPort }),
                );
              },
            );
            request.on('error', reject);
            request.end(body);
          });
          statuses.push(answer.status);
          ports.add(answer.port);
        }
        expect(statuses).toEqual([first, 429, 429]);
        expect(ports.size).toBe(1);
      } finally {
        agent.destroy();
        await server.close();
      }
    },
  );
});
