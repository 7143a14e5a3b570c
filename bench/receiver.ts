/**
 * The webhook receiver, in its own process: node:http with keep-alive,
 * answers 204 at once, counts requests and (when asked) records when each
 * `webhook-id` arrived, on CLOCK_MONOTONIC so the parent can compare it with
 * its own timestamps.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveCommands } from './lib/child';

let count = 0;
let record = false;
let firstByte = new Map<string, number>();

const server = createServer({ keepAlive: true }, (req, res) => {
  const at = Number(process.hrtime.bigint()) / 1e6;
  count++;
  if (record) {
    const id = req.headers['webhook-id'];
    // The first arrival of a message: retries would only repeat it.
    if (typeof id === 'string' && !firstByte.has(id)) firstByte.set(id, at);
  }
  res.writeHead(204).end();
  req.resume();
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 125_000;
server.requestTimeout = 0;

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  serveCommands(
    {
      reset(args) {
        count = 0;
        record = Boolean(args.record);
        firstByte = new Map();
        return true;
      },
      stats(args) {
        return { count, firstByte: args.withTimes ? Object.fromEntries(firstByte) : undefined };
      },
      exit() {
        server.closeAllConnections();
        server.close();
      },
    },
    { url: `http://127.0.0.1:${port}/webhook` },
  );
});
