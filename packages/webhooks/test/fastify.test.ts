import { signHeaders } from '@herald/signing';
import Fastify, { type FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import type { WebhookRejection } from '../src';
import { heraldWebhook } from '../src/fastify';
import { describeAdapter } from './adapter-behaviour';
import {
  deliver,
  newWebhookId,
  type Received,
  recordingHandler,
  secrets,
  type TestServerOptions,
  userCreatedBody,
} from './support';

/** Fastify 4 (the `fastify4` alias): the adapter's peer range takes both majors. Typed as 5 (its plugin API is the same). */
const { default: Fastify4 } = (await import('fastify4' as string)) as { default: typeof Fastify };

async function startFastify(
  options: TestServerOptions,
  configure?: (app: FastifyInstance) => void,
  makeApp: () => FastifyInstance = Fastify,
) {
  const received: Received[] = [];
  const rejected: WebhookRejection[] = [];
  const app = makeApp();
  configure?.(app);
  await app.register(
    heraldWebhook({
      secrets: options.secrets,
      maxBodyBytes: options.maxBodyBytes,
      onEvent: recordingHandler(received),
      onRejected: (rejection) => {
        rejected.push(rejection);
      },
    }),
    { prefix: '/webhooks/herald' },
  );
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: `${base}/webhooks/herald`, received, rejected, close: () => app.close() };
}

describeAdapter('Fastify', (options) => startFastify(options));
describeAdapter('Fastify 4', (options) => startFastify(options, undefined, () => Fastify4()));

describe('Fastify adapter: its raw-body parser stays inside the plugin', () => {
  it('leaves JSON parsing on for the rest of the app', async () => {
    const server = await startFastify({ secrets: [secrets.current], maxBodyBytes: 64 * 1024 }, (app) => {
      app.post('/echo', async (request) => request.body);
    });
    try {
      expect((await deliver(server.url, { body: userCreatedBody().body, secrets: secrets.current })).status).toBe(200);
      const echo = await fetch(server.url.replace('/webhooks/herald', '/echo'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"a":1}',
      });
      expect(echo.status).toBe(200);
      expect(await echo.json()).toEqual({ a: 1 });
    } finally {
      await server.close();
    }
  });

  it('verifies a delivery sent without a content-type', async () => {
    const server = await startFastify({ secrets: [secrets.current], maxBodyBytes: 64 * 1024 });
    try {
      const { body } = userCreatedBody();
      const headers = signHeaders({ id: newWebhookId(), timestamp: new Date(), body, secrets: secrets.current });
      // A byte body: fetch adds no content-type of its own.
      const response = await fetch(server.url, { method: 'POST', headers, body: new TextEncoder().encode(body) });
      expect(response.status).toBe(200);
      expect(server.received[0]?.webhook.rawBody).toBe(body);
    } finally {
      await server.close();
    }
  });

  it('a handler error with a code that is not a string reaches the app’s error handler unchanged', async () => {
    const seen: unknown[] = [];
    const app = Fastify();
    app.setErrorHandler(async (error, _request, reply) => {
      seen.push(error);
      return reply.code(503).send({ handledBy: 'app' });
    });
    const failure = Object.assign(new Error('upstream unavailable'), { code: 14 });
    await app.register(
      heraldWebhook({
        secrets: [secrets.current],
        onEvent: () => {
          throw failure;
        },
      }),
      { prefix: '/webhooks/herald' },
    );
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const response = await deliver(`${base}/webhooks/herald`, {
        body: userCreatedBody().body,
        secrets: secrets.current,
      });
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ handledBy: 'app' });
      expect(seen).toEqual([failure]);
    } finally {
      await app.close();
    }
  });
});
