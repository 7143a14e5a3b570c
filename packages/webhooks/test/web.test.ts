import { serve } from '@hono/node-server';
import type { WebhookRejection } from '../src';
import { heraldWebhook } from '../src/web';
import { describeAdapter } from './adapter-behaviour';
import { listen } from './listen';
import { type Received, recordingHandler, type TestServerOptions } from './support';

// A Web-standard `(request: Request) => Promise<Response>` handler, as a Next.js route handler or a
// Cloudflare-style worker's `fetch` would be, served over real HTTP by @hono/node-server.
async function startWeb(options: TestServerOptions) {
  const received: Received[] = [];
  const rejected: WebhookRejection[] = [];
  const handler = heraldWebhook({
    secrets: options.secrets,
    maxBodyBytes: options.maxBodyBytes,
    onEvent: recordingHandler(received),
    onRejected: (rejection) => {
      rejected.push(rejection);
    },
  });
  const server = await listen((port) => serve({ fetch: handler, port, hostname: '127.0.0.1' }));
  return { ...server, url: `${server.url}/api/webhooks/herald`, received, rejected };
}

describeAdapter('Web Request handler', startWeb);
