import { Agent, request } from 'node:http';
import { Hono } from 'hono';
import { expect, it } from 'vitest';
import { listen } from '../src/server';

/** One GET on a kept-alive connection: its status and `Connection` header, or null when refused. */
function get(url: string, agent: Agent): Promise<{ status: number; connection: string | undefined } | null> {
  return new Promise((resolve) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
    });
    req.once('error', () => resolve(null));
    req.end();
  });
}

it('closing answers with Connection: close, so clients sending back to back on kept-alive connections cannot hold it open', async () => {
  const app = new Hono();
  app.get('/', async (c) => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return c.text('ok');
  });
  const server = await listen(app);
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  let running = true;
  const answers: { status: number; connection: string | undefined; afterClose: boolean }[] = [];
  let closeCalled = false;
  const clients = Array.from({ length: 4 }, async () => {
    while (running) {
      const sentAfterClose = closeCalled;
      const answer = await get(`${server.url}/`, agent);
      if (answer === null) return; // refused: the server is closed
      answers.push({ ...answer, afterClose: sentAfterClose });
    }
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
  closeCalled = true;
  const closedAt = Date.now();
  // No forceAfterMs: only Connection: close ends the kept-alive connections.
  await server.close();
  const took = Date.now() - closedAt;
  running = false;
  await Promise.all(clients);
  agent.destroy();
  expect(took).toBeLessThan(2_000);
  // Every request was answered (200); one sent after the close began, on a connection that had not
  // been told yet, was answered with Connection: close (idle connections were closed at once).
  expect(answers.every((a) => a.status === 200)).toBe(true);
  expect(answers.filter((a) => a.afterClose && a.connection !== 'close')).toEqual([]);
});
