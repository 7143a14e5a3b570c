import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_INTERIM_RESPONSES, NotSentInTime } from '../../src/http/exchange';
import { parseRetryAfter } from '../../src/http/send-webhook';
import { closeAfterEach, freePort, ok200, startServer } from './helpers';

const base = { userAgent: 'Herald-Webhooks/test', allowPrivateNetworks: true } as const;

const { track, sender } = closeAfterEach(base);

describe('createWebhookSender: failures', () => {
  it('reports a 500 as http_status and keeps the (capped) body out of the error message', async () => {
    const server = await track(startServer((_req, res) => res.writeHead(500).end('stack trace: secret internals')));
    const result = await sender().send({ url: server.url, headers: {}, body: '{}' });
    expect(result).toMatchObject({
      ok: false,
      statusCode: 500,
      errorClass: 'http_status',
      errorMessage: 'HTTP 500',
      responseBody: 'stack trace: secret internals',
      retryAfterSeconds: null,
    });
  });

  it("keeps the endpoint's header values and the signature out of an answer that echoes the request", async () => {
    const echo = await track(
      startServer((req, res) =>
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify(req.headers)),
      ),
    );
    const headers = {
      authorization: 'Bearer tenant-receiver-token-123',
      'x-custom-token': 'quote"and\\backslash-secret',
      'x-short': 'yes',
      'webhook-id': 'msg_public_id_000',
      'webhook-timestamp': '1700000000',
      'webhook-signature': 'v1,c2lnbmF0dXJlLW9uZQ== v1,c2lnbmF0dXJlLXR3bw==',
    };
    const result = await sender().send({ url: echo.url, headers, body: '{}' });
    expect(result.statusCode).toBe(400);
    const stored = result.responseBody!;
    for (const secret of [
      'tenant-receiver-token-123',
      'backslash-secret',
      'c2lnbmF0dXJlLW9uZQ==',
      'c2lnbmF0dXJlLXR3bw==',
    ]) {
      expect(stored).not.toContain(secret);
    }
    const echoed = JSON.parse(stored) as Record<string, string>;
    expect(echoed.authorization).toBe('[redacted]');
    expect(echoed['x-custom-token']).toBe('[redacted]');
    // What is not secret stays readable: the message id and timestamp, a short value, Herald's own headers.
    expect(echoed).toMatchObject({
      'webhook-id': 'msg_public_id_000',
      'webhook-timestamp': '1700000000',
      'x-short': 'yes',
    });
    expect(echoed['user-agent']).toBe('Herald-Webhooks/test');
  });

  it('an excerpt cut off by the size cap in the middle of a header value keeps none of its start', async () => {
    const token = 'tenant-receiver-token-456';
    // The answer is cut at 64 bytes, ten characters into the token.
    const answer = `${'x'.repeat(54)}${token}${'y'.repeat(100)}`;
    const echo = await track(startServer((_req, res) => res.writeHead(500).end(answer)));
    const result = await sender({ ...base, maxResponseBytes: 64 }).send({
      url: echo.url,
      headers: { authorization: `Bearer ${token}` },
      body: '{}',
    });
    expect(result.responseBody).toBe(`${'x'.repeat(54)}[redacted]`);
    // A value whose start repeats: the longest start left at the end goes, not a shorter one.
    const repeating = 'aaaaaaaaaaaaaaab-secret';
    const echoRepeating = await track(
      startServer((_req, res) => res.writeHead(500).end(`${'x'.repeat(50)}b${repeating}`)),
    );
    const cutRepeating = await sender({ ...base, maxResponseBytes: 64 }).send({
      url: echoRepeating.url,
      headers: { 'x-token': repeating },
      body: '{}',
    });
    expect(cutRepeating.responseBody).toBe(`${'x'.repeat(50)}b[redacted]`);
  });

  it('an answer under the cap that ends with the start of a value keeps it: only a cut excerpt may hide one', async () => {
    const token = 'tenant-receiver-token-789';
    const echo = await track(startServer((_req, res) => res.writeHead(500).end(`expected ${token.slice(0, 12)}`)));
    const result = await sender().send({ url: echo.url, headers: { authorization: `Bearer ${token}` }, body: '{}' });
    expect(result.responseBody).toBe(`expected ${token.slice(0, 12)}`);
  });

  it("hides values echoed as PHP's json_encode writes them (`/` as `\\/`), and percent-encoded", async () => {
    const signature = 'v1,ab/cd+ef/gh==';
    const token = 'tok/en+with/slashes';
    const echo = await track(
      startServer((req, res) =>
        res.writeHead(400).end(`${JSON.stringify(req.headers).replaceAll('/', '\\/')} ${encodeURIComponent(token)}`),
      ),
    );
    const result = await sender().send({
      url: echo.url,
      headers: { authorization: `Bearer ${token}`, 'webhook-signature': signature },
      body: '{}',
    });
    const stored = result.responseBody!;
    for (const secret of ['tok\\/en+with\\/slashes', 'ab\\/cd+ef\\/gh==', encodeURIComponent(token)]) {
      expect(stored).not.toContain(secret);
    }
    expect(stored).toContain('[redacted]');
  });

  it('hides values echoed with other escapes: \\u for any character (ASP.NET, Gson), lower-case percent, HTML references', async () => {
    const token = 'dXNlcjpwYXNz+d29yZDE=';
    const key = 'k3y+S3cr3t/Value==';
    const echo = await track(
      startServer((_req, res) =>
        res.writeHead(400).end(
          [
            // As System.Text.Json writes `+`, and as Gson writes `=`.
            '{"authorization":"Basic dXNlcjpwYXNz\\u002Bd29yZDE="}',
            '{"x-api-key":"k3y+S3cr3t/Value\\u003d\\u003d"}',
            encodeURIComponent(key).replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()),
            key.replaceAll('+', '&#43;').replaceAll('/', '&#x2F;'),
            'plain text stays: 100% &amp; \\u0041',
          ].join('\n'),
        ),
      ),
    );
    const result = await sender().send({
      url: echo.url,
      headers: { authorization: `Basic ${token}`, 'x-api-key': key },
      body: '{}',
    });
    const lines = result.responseBody!.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      '{"authorization":"[redacted]"}',
      '{"x-api-key":"[redacted]"}',
      '[redacted]',
      '[redacted]',
    ]);
    expect(lines[4]).toBe('plain text stays: 100% &amp; \\u0041');

    // A value that itself holds escape-like text (a URL-encoded SAS signature), echoed as it is.
    const sas = 'sv=2024&sig=abc%2Bdef%3D0123456789';
    const verbatim = await track(startServer((req, res) => res.writeHead(400).end(`got ${req.headers['x-sas']}`)));
    const echoed = await sender().send({ url: verbatim.url, headers: { 'x-sas': sas }, body: '{}' });
    expect(echoed.responseBody).toBe('got [redacted]');
  });

  it.each([301, 302, 303, 307, 308])('treats a %i as a failure and never requests its Location', async (status) => {
    const target = await track(startServer(ok200));
    const redirector = await track(
      startServer((_req, res) => res.writeHead(status, { location: `${target.url}/landed` }).end()),
    );
    const result = await sender().send({ url: redirector.url, headers: {}, body: '{}' });
    expect(result).toMatchObject({ ok: false, statusCode: status, errorClass: 'http_status' });
    expect(redirector.requests).toHaveLength(1);
    expect(target.connections).toBe(0);
  });

  it('startBy bounds when a request begins: one begun late is never written, one begun in time goes', async () => {
    const server = await track(startServer(ok200));
    await expect(
      sender().send({ url: server.url, headers: {}, body: '{"n":1}', startBy: performance.now() - 1 }),
    ).rejects.toBeInstanceOf(NotSentInTime);
    expect(
      await sender().send({ url: server.url, headers: {}, body: '{"n":2}', startBy: performance.now() + 5_000 }),
    ).toMatchObject({ ok: true });
    expect(server.requests.map((r) => r.body)).toEqual(['{"n":2}']);
  });

  it('a lookup and connect slower than the time left to startBy still send, within the timeout (a slow TLS handshake)', async () => {
    const server = await track(startServer(ok200));
    // 300 ms to resolve (as a TLS handshake takes its time once connected): past startBy, inside the timeout.
    const slowLookup = async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return [{ address: '127.0.0.1', family: 4 as const }];
    };
    const result = await sender({ ...base, timeoutMs: 5_000, resolve: slowLookup }).send({
      url: `http://slow-handshake.test:${server.port}/`,
      headers: {},
      body: '{"n":3}',
      startBy: performance.now() + 100,
    });
    expect(result).toMatchObject({ ok: true, statusCode: 200 });
    expect(server.requests.map((r) => r.body)).toEqual(['{"n":3}']);
  });

  it('never writes a request whose process stalled past its deadline before its socket was ready', async () => {
    const server = await track(startServer(ok200));
    const slowLookup = async () => [{ address: '127.0.0.1', family: 4 as const }];
    const sent = sender({ ...base, timeoutMs: 200, resolve: slowLookup }).send({
      url: `http://stalled.test:${server.port}/`,
      headers: {},
      body: '{"n":4}',
      startBy: performance.now() + 5_000,
    });
    // The event loop blocked for longer than the timeout: neither the timer nor the connect ran.
    const until = performance.now() + 400;
    while (performance.now() < until) {
      // busy
    }
    const outcome = await sent.then(
      (result) => result.errorClass,
      (error: unknown) => (error instanceof NotSentInTime ? 'not sent' : 'other'),
    );
    expect(['timeout', 'not sent']).toContain(outcome);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.requests).toEqual([]);
  });

  it('times out a server that accepts but never answers', async () => {
    const server = await track(startServer(() => undefined));
    const result = await sender({ ...base, timeoutMs: 300 }).send({ url: server.url, headers: {}, body: '{}' });
    expect(result).toMatchObject({
      ok: false,
      statusCode: null,
      errorClass: 'timeout',
      errorMessage: 'timed out after 300 ms',
      responseBody: null,
    });
    expect(result.durationMs).toBeGreaterThanOrEqual(280);
    expect(result.durationMs).toBeLessThan(2_000);
  });

  it('counts a body that stalls after the headers against the same deadline', async () => {
    const server = await track(
      startServer((_req, res) => {
        res.writeHead(200);
        res.write('partial');
      }),
    );
    const result = await sender({ ...base, timeoutMs: 300 }).send({ url: server.url, headers: {}, body: '{}' });
    // The 200 came before the body broke off: it is not the attempt's status (not a success to any
    // view), and the message keeps it.
    expect(result).toMatchObject({
      ok: false,
      statusCode: null,
      errorClass: 'timeout',
      errorMessage: 'timed out after 300 ms (after HTTP 200)',
    });
    expect(result.durationMs).toBeLessThan(2_000);
  });

  it('times out a DNS lookup that never answers', async () => {
    const hang = () => new Promise<never>(() => undefined);
    const result = await sender({ ...base, allowPrivateNetworks: false, timeoutMs: 300, resolve: hang }).send({
      url: 'https://slow-dns.test/',
      headers: {},
      body: '{}',
    });
    expect(result).toMatchObject({ ok: false, errorClass: 'timeout', errorMessage: 'timed out after 300 ms' });
    expect(result.durationMs).toBeLessThan(2_000);
  });

  it('reports a refused connection generically', async () => {
    const port = await freePort();
    const result = await sender().send({ url: `http://127.0.0.1:${port}/`, headers: {}, body: '{}' });
    expect(result).toMatchObject({
      ok: false,
      statusCode: null,
      errorClass: 'connection',
      errorMessage: 'connection refused',
    });
    expect(result.errorMessage).not.toContain(String(port));
  });

  it('reports a connection dropped mid-response as a connection error', async () => {
    const server = await track(startServer((req) => req.socket.destroy()));
    const result = await sender().send({ url: server.url, headers: {}, body: '{}' });
    expect(result).toMatchObject({ ok: false, errorClass: 'connection' });
  });

  it('names broken HTTP answers: not HTTP at all, headers past the limit', async () => {
    const answers = ['SSH-2.0-OpenSSH_9.2\r\n\r\n', `HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(64 * 1024)}\r\n\r\n`];
    const messages: string[] = [];
    for (const answer of answers) {
      const server = createNetServer((socket) => {
        socket.once('data', () => socket.end(answer));
        socket.on('error', () => {});
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const { port } = server.address() as AddressInfo;
        const result = await sender().send({ url: `http://127.0.0.1:${port}/`, headers: {}, body: '{}' });
        expect(result).toMatchObject({ ok: false, errorClass: 'connection' });
        messages.push(result.errorMessage!);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    }
    expect(messages).toEqual(['invalid HTTP response', 'invalid HTTP response (headers too large)']);
  });

  it('ends an answer that is only ever interim (1xx) after a few, not at the deadline; a few before the final one are fine', async () => {
    const flood = createNetServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => {
        const more = () => {
          while (!socket.destroyed && socket.write('HTTP/1.1 102 Processing\r\n\r\n'));
          if (!socket.destroyed) socket.once('drain', more);
        };
        more();
      });
    });
    const fewThenOk = createNetServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () =>
        socket.end(
          `${'HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n'.repeat(MAX_INTERIM_RESPONSES)}` +
            'HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n',
        ),
      );
    });
    const servers = [flood, fewThenOk];
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
    try {
      const url = (s: typeof flood) => `http://127.0.0.1:${(s.address() as AddressInfo).port}/`;
      // A deadline far beyond the test's: only the count can end the flood's attempt in time.
      const slow = sender({ ...base, timeoutMs: 600_000 });
      const flooded = await slow.send({ url: url(flood), headers: {}, body: '{}' });
      expect(flooded).toMatchObject({
        ok: false,
        errorClass: 'connection',
        errorMessage: 'invalid HTTP response (too many interim 1xx responses)',
      });
      expect(await slow.send({ url: url(fewThenOk), headers: {}, body: '{}' })).toMatchObject({
        ok: true,
        statusCode: 204,
      });
    } finally {
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    }
  });

  it('parses Retry-After given in seconds', async () => {
    const server = await track(startServer((_req, res) => res.writeHead(429, { 'retry-after': '120' }).end()));
    const result = await sender().send({ url: server.url, headers: {}, body: '{}' });
    expect(result).toMatchObject({ ok: false, statusCode: 429, errorClass: 'http_status', retryAfterSeconds: 120 });
  });

  it('parses Retry-After given as an HTTP-date', async () => {
    const when = new Date(Date.now() + 90_000).toUTCString();
    const server = await track(startServer((_req, res) => res.writeHead(503, { 'retry-after': when }).end()));
    const result = await sender().send({ url: server.url, headers: {}, body: '{}' });
    expect(result.statusCode).toBe(503);
    expect(result.retryAfterSeconds).toBeGreaterThanOrEqual(88);
    expect(result.retryAfterSeconds).toBeLessThanOrEqual(90);
  });

  it('parseRetryAfter handles edge cases', () => {
    const now = Date.parse('2024-01-01T00:00:00Z');
    expect(parseRetryAfter(' 5 ', now)).toBe(5);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Sun, 31 Dec 2023 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('Monday, 01-Jan-24 00:01:00 GMT', now)).toBe(60);
    expect(parseRetryAfter('Mon Jan  1 00:02:00 2024', now)).toBe(120);
    expect(parseRetryAfter(['7', '9'], now)).toBe(7);
    for (const junk of [undefined, '', 'soon', '-5', '1.5']) expect(parseRetryAfter(junk, now)).toBeNull();
  });

  it('reports resolver failures as a refused destination, like a private answer, without connecting', async () => {
    const nx = Object.assign(new Error('getaddrinfo ENOTFOUND nx.test'), { code: 'ENOTFOUND' });
    const again = Object.assign(new Error('getaddrinfo EAI_AGAIN slow.test'), { code: 'EAI_AGAIN' });
    const s = sender({
      ...base,
      allowPrivateNetworks: false,
      resolve: async (h) => Promise.reject(h === 'nx.test' ? nx : again),
    });
    const refused = { ok: false, statusCode: null, errorClass: 'ssrf_blocked', errorMessage: 'destination refused' };
    expect(await s.send({ url: 'https://nx.test/', headers: {}, body: '{}' })).toMatchObject(refused);
    expect(await s.send({ url: 'https://slow.test/', headers: {}, body: '{}' })).toMatchObject(refused);
    const empty = sender({ ...base, allowPrivateNetworks: false, resolve: async () => [] });
    expect(await empty.send({ url: 'https://empty.test/', headers: {}, body: '{}' })).toMatchObject(refused);
    const plain = sender({ ...base, allowPrivateNetworks: false, resolve: async () => Promise.reject(new Error('x')) });
    expect(await plain.send({ url: 'https://plain.test/', headers: {}, body: '{}' })).toMatchObject(refused);
  });

  it('classifies a TLS handshake against a plaintext server as tls', async () => {
    const server = await track(startServer(ok200));
    const result = await sender().send({ url: `https://127.0.0.1:${server.port}/`, headers: {}, body: '{}' });
    expect(result).toMatchObject({ ok: false, statusCode: null, errorClass: 'tls' });
  });

  const hasOpenssl = (() => {
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!hasOpenssl)('classifies an untrusted (self-signed) certificate as tls', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-tls-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      );
      const server = createHttpsServer(
        { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
        (_req, res) => res.writeHead(200).end('ok'),
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const result = await sender().send({ url: `https://127.0.0.1:${port}/`, headers: {}, body: '{}' });
      expect(result).toMatchObject({ ok: false, statusCode: null, errorClass: 'tls' });
      expect(result.errorMessage).toContain('SELF_SIGNED');
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(['not a url', '', 'https://', 'http://[::1/'])('returns invalid_url for %j without throwing', async (url) => {
    expect(await sender().send({ url, headers: {}, body: '{}' })).toMatchObject({
      ok: false,
      statusCode: null,
      errorClass: 'invalid_url',
    });
  });

  it('refuses to send a header carrying CR/LF (header injection) and sends nothing', async () => {
    const server = await track(startServer(ok200));
    const s = sender();
    const bad: Record<string, string>[] = [{ 'x-evil': 'a\r\nx-injected: 1' }, { 'bad name': 'v' }];
    for (const headers of bad) {
      const result = await s.send({ url: server.url, headers, body: '{}' });
      expect(result).toMatchObject({ ok: false, errorClass: 'connection' });
      expect(result.errorMessage).toContain('invalid request header');
    }
    expect(server.connections).toBe(0);
  });

  it('fails cleanly (no throw) after close()', async () => {
    const server = await track(startServer(ok200));
    const s = sender();
    await s.close();
    expect(await s.send({ url: server.url, headers: {}, body: '{}' })).toMatchObject({
      ok: false,
      errorClass: 'connection',
      errorMessage: 'sender closed',
    });
  });
});
