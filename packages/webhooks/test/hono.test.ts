import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { WebhookRejection } from '../src';
import { heraldWebhook } from '../src/hono';
import { describeAdapter } from './adapter-behaviour';
import { listen } from './listen';
import { deliver, type Received, recordingHandler, secrets, type TestServerOptions, userCreatedBody } from './support';

async function startHono(options: TestServerOptions, configure?: (app: Hono) => void) {
  const received: Received[] = [];
  const rejected: WebhookRejection[] = [];
  const app = new Hono();
  configure?.(app);
  app.post(
    '/webhooks/herald',
    heraldWebhook({
      secrets: options.secrets,
      maxBodyBytes: options.maxBodyBytes,
      onEvent: recordingHandler(received),
      onRejected: (rejection) => {
        rejected.push(rejection);
      },
    }),
  );
  const server = await listen((port) => serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }));
  return { ...server, url: `${server.url}/webhooks/herald`, received, rejected };
}

describeAdapter('Hono', (options) => startHono(options));

describe('Hono adapter: bodies read before it', () => {
  it('verifies the bytes a middleware already read with c.req.text() or c.req.json()', async () => {
    const seen: unknown[] = [];
    const server = await startHono({ secrets: [secrets.current], maxBodyBytes: 64 * 1024 }, (app) => {
      app.use('/webhooks/*', async (c, next) => {
        seen.push(await c.req.json());
        await next();
      });
    });
    try {
      const { body } = userCreatedBody();
      const response = await deliver(server.url, { body, secrets: secrets.current });
      expect(response.status).toBe(200);
      expect(seen).toHaveLength(1);
      expect(server.received[0]?.webhook.rawBody).toBe(body);
    } finally {
      await server.close();
    }
  });
});
