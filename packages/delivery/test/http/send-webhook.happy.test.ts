import { describe, expect, it } from 'vitest';
import { closeAfterEach, ok200, startServer } from './helpers';

// Loopback targets need the private-network opt-in; the security suite covers the default.
const base = { userAgent: 'Herald-Webhooks/test', allowPrivateNetworks: true } as const;

const { track, sender } = closeAfterEach(base);

describe('createWebhookSender: successful deliveries', () => {
  it('POSTs the body with sender-owned headers and the caller headers, and captures the response', async () => {
    const server = await track(startServer((_req, res) => res.writeHead(200).end('thanks')));
    const body = JSON.stringify({ type: 'invoice.paid', data: { amount: 4200, note: 'café' } });
    const result = await sender().send({
      url: `${server.url}/hooks/in?tenant=7#fragment`,
      headers: {
        'webhook-id': 'msg_1',
        'webhook-timestamp': '1700000000',
        'webhook-signature': 'v1,abc=',
        'X-Custom': 'yes',
        'Content-Type': 'text/plain',
        'User-Agent': 'spoofed',
        Host: 'evil.example',
        'Content-Length': '1',
        Connection: 'close',
      },
      body,
    });

    expect(result).toMatchObject({
      ok: true,
      statusCode: 200,
      errorClass: null,
      errorMessage: null,
      responseBody: 'thanks',
      retryAfterSeconds: null,
    });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(server.requests).toHaveLength(1);
    const seen = server.requests[0]!;
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/hooks/in?tenant=7');
    expect(seen.body).toBe(body);
    expect(seen.headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': 'Herald-Webhooks/test',
      host: `127.0.0.1:${server.port}`,
      'content-length': String(Buffer.byteLength(body)),
      'webhook-id': 'msg_1',
      'webhook-timestamp': '1700000000',
      'webhook-signature': 'v1,abc=',
      'x-custom': 'yes',
    });
    expect(seen.headers.connection).not.toBe('close');
  });

  it('treats every 2xx as success, including an empty 204', async () => {
    const server = await track(startServer((req, res) => res.writeHead(req.url === '/204' ? 204 : 202).end()));
    const s = sender();
    expect(await s.send({ url: `${server.url}/204`, headers: {}, body: '{}' })).toMatchObject({
      ok: true,
      statusCode: 204,
      responseBody: '',
    });
    expect(await s.send({ url: `${server.url}/202`, headers: {}, body: '{}' })).toMatchObject({
      ok: true,
      statusCode: 202,
    });
  });

  it('takes the answer after informational responses (103 Early Hints, 102 Processing, an unasked 100 Continue)', async () => {
    const server = await track(
      startServer((_req, res) => {
        res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
        res.writeProcessing();
        res.writeHead(429, { 'retry-after': '7' }).end('slow down');
      }),
    );
    expect(await sender().send({ url: server.url, headers: {}, body: '{}' })).toMatchObject({
      ok: false,
      statusCode: 429,
      errorClass: 'http_status',
      responseBody: 'slow down',
      retryAfterSeconds: 7,
    });
    // A 100 (Continue) nobody asked for (no `Expect` is sent) is one too, twice, on a reused connection.
    const unasked = await track(
      startServer((_req, res) => {
        res.writeContinue();
        res.writeContinue();
        res.writeHead(200).end('ok');
      }),
    );
    const reused = sender();
    for (let i = 0; i < 2; i++) {
      expect(await reused.send({ url: unasked.url, headers: {}, body: '{}' })).toMatchObject({
        ok: true,
        statusCode: 200,
        errorClass: null,
        responseBody: 'ok',
      });
    }
    // An informational response is no answer: a connection dropped after it has no status.
    const dropper = await track(
      startServer((req, res) => {
        res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
        setTimeout(() => req.socket.destroy(), 20);
      }),
    );
    expect(await sender().send({ url: dropper.url, headers: {}, body: '{}' })).toMatchObject({
      ok: false,
      statusCode: null,
      errorClass: 'connection',
    });
  });

  it('caps the captured body at 4096 bytes and stops reading a 1 MB response early', async () => {
    // Writes 1 MB and never ends the response: only a reader that gives up at the cap returns.
    const server = await track(
      startServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('x'.repeat(1024 * 1024));
      }),
    );
    const result = await sender({ ...base, timeoutMs: 10_000 }).send({ url: server.url, headers: {}, body: '{}' });
    expect(result).toMatchObject({ ok: true, statusCode: 200, errorClass: null });
    expect(Buffer.byteLength(result.responseBody ?? '')).toBe(4096);
    expect(result.durationMs).toBeLessThan(2_000);
    // The abandoned socket is discarded, not handed to the next delivery mid-body.
    server.requests.length = 0;
    const again = await sender(base).send({ url: server.url, headers: {}, body: '{"n":2}' });
    expect(again.ok).toBe(true);
    expect(server.requests.map((r) => r.body)).toEqual(['{"n":2}']);
  });

  it('honours a custom cap without splitting a multi-byte character', async () => {
    const server = await track(startServer((_req, res) => res.writeHead(200).end('€'.repeat(100))));
    const result = await sender({ ...base, maxResponseBytes: 10 }).send({ url: server.url, headers: {}, body: '{}' });
    expect(result.responseBody).toBe('€€€');
  });

  it('reuses one keep-alive socket for sequential deliveries to the same origin', async () => {
    const server = await track(startServer(ok200));
    const s = sender();
    for (let i = 0; i < 3; i += 1) {
      expect((await s.send({ url: `${server.url}/n${i}`, headers: {}, body: '{}' })).ok).toBe(true);
    }
    expect(server.requests).toHaveLength(3);
    expect(server.connections).toBe(1);
  });

  it('limits sockets per origin when `connections` is set', async () => {
    const server = await track(startServer((_req, res) => setTimeout(() => res.writeHead(200).end(), 30)));
    const s = sender({ ...base, connections: 2 });
    const results = await Promise.all(
      Array.from({ length: 6 }, () => s.send({ url: server.url, headers: {}, body: '{}' })),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(server.connections).toBe(2);
  });

  it('connects hostnames through the injected resolver', async () => {
    const server = await track(startServer(ok200));
    const asked: string[] = [];
    const resolve = async (host: string) => {
      asked.push(host);
      return [{ address: '127.0.0.1', family: 4 as const }];
    };
    // `hooks.herald.test` exists nowhere else: success proves nothing bypassed the resolver.
    const result = await sender({ ...base, resolve }).send({
      url: `http://hooks.herald.test:${server.port}/`,
      headers: {},
      body: '{}',
    });
    expect(result.ok).toBe(true);
    expect(asked).toEqual(['hooks.herald.test']);
    expect(server.requests[0]?.headers.host).toBe(`hooks.herald.test:${server.port}`);
  });
});
