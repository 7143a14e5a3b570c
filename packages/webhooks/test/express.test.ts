import { readFileSync } from 'node:fs';
import express from 'express';
import { describe, expect, it } from 'vitest';
import type { WebhookRejection } from '../src';
import { heraldWebhook } from '../src/express';
import { DEFAULT_MAX_BODY_BYTES } from '../src/options';
import { describeAdapter } from './adapter-behaviour';
import { listen } from './listen';
import {
  deliver,
  futureEventBody,
  type Received,
  recordingHandler,
  secrets,
  type TestServerOptions,
  userCreatedBody,
} from './support';

type Setup = (app: express.Express, webhook: ReturnType<typeof heraldWebhook>) => void;

/** By default the webhook route is mounted on an app with no body parser at all. */
const bare: Setup = (app, webhook) => app.post('/webhooks/herald', webhook);

/** Express 4 (the `express4` alias): the adapter's peer range takes both majors. Typed as 5 (no types of its own here). */
const { default: express4 } = (await import('express4' as string)) as { default: typeof express };

async function startExpress(options: TestServerOptions, setup: Setup = bare, makeApp: () => express.Express = express) {
  const received: Received[] = [];
  const rejected: WebhookRejection[] = [];
  const app = makeApp();
  setup(
    app,
    heraldWebhook({
      secrets: options.secrets,
      maxBodyBytes: options.maxBodyBytes,
      onEvent: recordingHandler(received),
      onRejected: (rejection) => {
        rejected.push(rejection);
      },
    }),
  );
  const server = await listen((port) => app.listen(port, '127.0.0.1'));
  return { ...server, url: `${server.url}/webhooks/herald`, received, rejected };
}

describeAdapter('Express', (options) => startExpress(options));
describeAdapter('Express 4', (options) => startExpress(options, bare, express4));

describe('Express adapter: body parsers', () => {
  const options = { secrets: [secrets.current], maxBodyBytes: 64 * 1024 };

  it('works behind express.raw({ type: "*/*" })', async () => {
    const server = await startExpress(options, (app, webhook) => {
      app.post('/webhooks/herald', express.raw({ type: '*/*' }), webhook);
    });
    try {
      const { body } = userCreatedBody();
      expect((await deliver(server.url, { body, secrets: secrets.current })).status).toBe(200);
      expect(server.received[0]?.webhook.rawBody).toBe(body);
    } finally {
      await server.close();
    }
  });

  /** Every `express.raw({ … })` / `express.text({ … })` the README shows, with its options as an object. */
  function readmeParsers() {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    return [...readme.matchAll(/express\.(raw|text)\(\{([^}]*)\}\)/g)].map(([shown, kind, options]) => ({
      shown,
      kind: kind as 'raw' | 'text',
      options: Object.fromEntries([...options!.matchAll(/(\w+): '([^']*)'/g)].map(([, key, value]) => [key, value])),
    }));
  }

  it('takes a delivery just under maxBodyBytes behind each express.raw / express.text the README shows', async () => {
    const parsers = readmeParsers();
    expect(parsers.map((parser) => parser.kind).sort()).toEqual(['raw', 'text']);
    const { envelope } = futureEventBody();
    const body = JSON.stringify({ ...envelope, data: { ...envelope.data, note: '' } });
    // Express's default limit is 100 KB: a delivery this size got its HTML 413, retried forever.
    const large = body.replace('"note":""', `"note":"${'x'.repeat(DEFAULT_MAX_BODY_BYTES - body.length - 100)}"`);
    for (const { shown, kind, options } of parsers) {
      const server = await startExpress(
        { secrets: [secrets.current], maxBodyBytes: DEFAULT_MAX_BODY_BYTES },
        (app, webhook) => {
          app.post('/webhooks/herald', express[kind](options), webhook);
        },
      );
      try {
        const response = await deliver(server.url, { body: large, secrets: secrets.current });
        expect({ shown, status: response.status }).toEqual({ shown, status: 200 });
        expect(server.received[0]?.webhook.rawBody).toBe(large);
      } finally {
        await server.close();
      }
    }
  });

  it('works when mounted before app.use(express.json()), which the rest of the app keeps', async () => {
    const server = await startExpress(options, (app, webhook) => {
      app.post('/webhooks/herald', webhook);
      app.use(express.json());
      app.post('/echo', (req, res) => {
        res.json(req.body);
      });
    });
    try {
      expect((await deliver(server.url, { body: userCreatedBody().body, secrets: secrets.current })).status).toBe(200);
      const echo = await fetch(server.url.replace('/webhooks/herald', '/echo'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"a":1}',
      });
      expect(await echo.json()).toEqual({ a: 1 });
    } finally {
      await server.close();
    }
  });

  it('on Express 4, reads the body a global parser of another type skipped (it set req.body to {})', async () => {
    for (const parser of [express4.urlencoded({ extended: false }), express4.text()]) {
      const server = await startExpress(
        options,
        (app, webhook) => {
          app.use(parser);
          app.post('/webhooks/herald', webhook);
        },
        express4,
      );
      try {
        const { body } = userCreatedBody();
        expect((await deliver(server.url, { body, secrets: secrets.current })).status).toBe(200);
        expect(server.received[0]?.webhook.rawBody).toBe(body);
      } finally {
        await server.close();
      }
    }
  });

  it('on Express 4 too, refuses with 500 raw_body_unavailable after express.json()', async () => {
    const server = await startExpress(
      options,
      (app, webhook) => {
        app.use(express4.json());
        app.post('/webhooks/herald', webhook);
      },
      express4,
    );
    try {
      const response = await deliver(server.url, { body: userCreatedBody().body, secrets: secrets.current });
      expect(response.status).toBe(500);
      expect(server.received).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('refuses with 500 raw_body_unavailable after express.json(), never verifying a re-serialised body', async () => {
    const server = await startExpress(options, (app, webhook) => {
      app.use(express.json());
      app.post('/webhooks/herald', webhook);
    });
    try {
      const response = await deliver(server.url, { body: userCreatedBody().body, secrets: secrets.current });
      expect(response.status).toBe(500);
      expect(await response.json()).toMatchObject({
        error: { code: 'raw_body_unavailable', message: expect.stringContaining('before any JSON body parser') },
      });
      expect(server.received).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
