import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listen } from '@herald/api';
import { describeDb } from '@herald/db/testing';
import { expect, it, onTestFinished } from 'vitest';
import { PROCESS_TEST_TIMEOUT_MS, startCli } from './cli-harness';
import { startHerald, waitFor } from './harness';

/**
 * `herald listen` as a process against a real API (in process, on a real socket) on both drivers,
 * with local receivers that misbehave: one that streams its answer forever, one that never answers.
 * The CLI against fake APIs: packages/cli/test.
 */

/** A local receiver on 127.0.0.1 that hands every request's response to `answer` (closed when the test ends). */
async function startLocal(answer: (response: ServerResponse) => void) {
  let requests = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      requests++;
      answer(response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, requests: () => requests };
}

describeDb('herald listen with a misbehaving local receiver', (t) => {
  async function setUp(forwardTo: string, flags: string[] = []) {
    const h = await startHerald(t);
    const server = await listen(h.app);
    onTestFinished(() => server.close());
    const p = await h.project();
    const cli = startCli(['listen', '--forward-to', forwardTo, '--json', ...flags], {
      HERALD_API_URL: server.url,
      HERALD_API_KEY: p.apiKey,
    });
    const ready = await cli.waitForLine((l) => l.type === 'ready');
    return { p, cli, endpointId: ready.endpointId as string };
  }

  it(
    'records a 200 that streams forever as a success with the first 4096 bytes, as the dispatcher would',
    async () => {
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const local = await startLocal((response) => {
        response.writeHead(200, { 'content-type': 'text/plain' });
        const pump = () => {
          while (!response.destroyed && response.write(chunk)) {}
        };
        response.on('drain', pump);
        pump();
      });
      const { p, cli } = await setUp(local.url);
      await p.createUser();
      const line = await cli.waitForLine((l) => l.type === 'delivery');
      expect(line).toMatchObject({ statusCode: 200, errorClass: null });
      const delivery = await waitFor(async () => {
        const d = await p.delivery(line.deliveryId);
        return d.status === 'succeeded' ? d : null;
      });
      expect(delivery.attempts).toHaveLength(1);
      expect(delivery.attempts[0]!.responseBody).toBe('a'.repeat(4096));
      cli.child.kill('SIGINT');
      expect(await cli.exited).toEqual({ code: 0, signal: null });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'on Ctrl-C, gives up on a local URL that never answers, reports nothing for it, and removes the endpoint at once',
    async () => {
      const local = await startLocal(() => {});
      const { p, cli, endpointId } = await setUp(local.url, ['--timeout', '60000']);
      await p.createUser();
      await waitFor(() => local.requests() === 1, { message: 'the forward at the local receiver' });
      const [row] = await p.deliveryRows();
      const stoppedAt = Date.now();
      cli.child.kill('SIGINT');
      expect(await cli.exited).toEqual({ code: 0, signal: null });
      expect(Date.now() - stoppedAt).toBeLessThan(5_000);
      expect(cli.jsonLines().at(-1)).toEqual({ type: 'stopped', endpointId, removed: true });
      expect(JSON.parse(cli.stderr())).toEqual({
        type: 'warning',
        message: `${row!.id}: stopped before the local URL answered; Herald sends it again`,
      });
      expect(await p.attemptRows(row!.id)).toEqual([]);
      expect((await p.request(`/v1/endpoints/${endpointId}`)).status).toBe(404);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
