import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import type { WebhookSender, WebhookSenderOptions } from '../../src/http/send-webhook';
import { createWebhookSender } from '../../src/http/send-webhook';

export type SeenRequest = { method: string; url: string; headers: IncomingHttpHeaders; body: string };

export type TestServer = {
  port: number;
  /** http://host:port — only ever a loopback address. */
  url: string;
  requests: SeenRequest[];
  /** TCP connections accepted, to prove reuse or that nothing connected at all. */
  connections: number;
  closeIdle(): void;
  close(): Promise<void>;
};

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

export async function startServer(handler: Handler, host = '127.0.0.1', port = 0): Promise<TestServer> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      state.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  });
  server.on('connection', () => {
    state.connections += 1;
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const state: TestServer = {
    port: bound,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    requests: [],
    connections: 0,
    closeIdle: () => server.closeIdleConnections(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return state;
}

/** A port with nothing listening on it (bound then released). */
export async function freePort(): Promise<number> {
  const s = await startServer(() => undefined);
  await s.close();
  return s.port;
}

export const ok200: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
};

/** Servers and senders made through these helpers are closed after each test. */
export function closeAfterEach(defaults?: WebhookSenderOptions) {
  let servers: TestServer[] = [];
  let senders: WebhookSender[] = [];
  afterEach(async () => {
    await Promise.all(senders.map((s) => s.close()));
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
    senders = [];
  });
  return {
    track: async (s: Promise<TestServer>) => {
      const server = await s;
      servers.push(server);
      return server;
    },
    sender: (opts: WebhookSenderOptions | undefined = defaults) => {
      if (!opts) throw new Error('sender options are required here');
      const created = createWebhookSender(opts);
      senders.push(created);
      return created;
    },
  };
}
