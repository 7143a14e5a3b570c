import { connect } from 'node:net';
import { Hono } from 'hono';
import { expect, it, onTestFinished } from 'vitest';
import { listen } from '../src/server';

/** A raw connection to `port`: what it receives, and when it is closed. */
function rawClient(port: number) {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    received += chunk;
  });
  socket.on('error', () => {});
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
  return { socket, closed, received: () => received };
}

async function server(options: Parameters<typeof listen>[1]) {
  const app = new Hono();
  app.post('/', async (c) => c.json({ length: (await c.req.text()).length }));
  // The body's read fails once the request times out: answered by the server, nothing to say here.
  app.onError((_error, c) => c.body(null, 499 as 400));
  app.get('/', (c) => c.text('ok'));
  const running = await listen(app, options);
  onTestFinished(() => running.close({ forceAfterMs: 0 }));
  return running;
}

it('answers 408 and closes a request whose body drips in past the request timeout', async () => {
  const { port } = await server({ requestTimeoutMs: 1_000, headersTimeoutMs: 500 });
  const slow = rawClient(port);
  const startedAt = Date.now();
  slow.socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nab');
  const drip = setInterval(() => slow.socket.write('c'), 200);
  const closedAt = await slow.closed;
  clearInterval(drip);
  expect(slow.received()).toMatch(/^HTTP\/1\.1 408 /);
  // Node checks the timeouts every second here (connectionsCheckingInterval): within a few of it.
  expect(closedAt - startedAt).toBeLessThan(8_000);
});

it('closes connections beyond maxConnections as they come, and serves again once some end', async () => {
  const { port, url } = await server({ maxConnections: 2 });
  const held = [rawClient(port), rawClient(port)];
  for (const client of held) client.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await expect.poll(() => held.every((client) => client.received().includes('ok'))).toBe(true);
  const refused = rawClient(port);
  await refused.closed;
  expect(refused.received()).toBe('');
  for (const client of held) client.socket.destroy();
  await Promise.all(held.map((client) => client.closed));
  await expect.poll(async () => (await fetch(url).catch(() => null))?.status).toBe(200);
});
