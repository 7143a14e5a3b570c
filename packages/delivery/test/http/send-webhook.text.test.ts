import type { AddressInfo, Server, Socket } from 'node:net';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { storableText } from '../../src/http/send-webhook';
import { closeAfterEach, startServer } from './helpers';

const base = { userAgent: 'Herald-Webhooks/test', allowPrivateNetworks: true } as const;
const { track, sender } = closeAfterEach(base);

/**
 * A TCP server that answers every request with exactly `response` (status line, headers and body
 * as raw bytes), so the sender meets bytes node:http would never write.
 */
const rawServers: Server[] = [];
afterEach(async () => {
  await Promise.all(rawServers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});
async function rawServer(response: Buffer | ((socket: Socket) => void)): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('data', () => {
      if (typeof response === 'function') response(socket);
      else socket.end(response);
    });
  });
  const close = server.close.bind(server);
  server.close = (cb) => {
    for (const s of sockets) s.destroy();
    return close(cb);
  };
  rawServers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

const http = (status: string, headers: Buffer | string, body: Buffer) =>
  Buffer.concat([
    Buffer.from(`HTTP/1.1 ${status}\r\n`, 'latin1'),
    typeof headers === 'string' ? Buffer.from(headers, 'latin1') : headers,
    Buffer.from(`content-length: ${body.length}\r\nconnection: close\r\n\r\n`, 'latin1'),
    body,
  ]);

/** Storable text: no NUL, no lone surrogate, survives a UTF-8 round trip, and fits the cap. */
function expectClean(text: string | null, cap = 4096) {
  expect(text).not.toBeNull();
  expect(text).not.toMatch(/\0/);
  expect(text).not.toMatch(/\p{Cs}/u);
  expect(Buffer.from(text!, 'utf8').toString('utf8')).toBe(text);
  expect(Buffer.byteLength(text!, 'utf8')).toBeLessThanOrEqual(cap);
}

describe('createWebhookSender: response text is storable', () => {
  it.each([
    ['ok followed by NUL', Buffer.from('ok\0', 'latin1'), 'ok\uFFFD'],
    ['NULs between text', Buffer.from('a\0\0b', 'latin1'), 'a\uFFFD\uFFFDb'],
    ['the bytes 0xff 0xfe', Buffer.from([0xff, 0xfe]), '\uFFFD\uFFFD'],
    ['a lone 0xc3 between text', Buffer.from([0x61, 0xc3, 0x62]), 'a\uFFFDb'],
    ['a lone 0xc3 at the end', Buffer.from([0x61, 0xc3]), 'a\uFFFD'],
    ['an encoded surrogate (CESU-8)', Buffer.from([0x61, 0xed, 0xa0, 0x80, 0x62]), 'a\uFFFD\uFFFD\uFFFDb'],
    ['an overlong NUL', Buffer.from([0xc0, 0x80]), '\uFFFD\uFFFD'],
    ['valid UTF-8 with a BOM', Buffer.from('\uFEFFcafé ✓ 😀', 'utf8'), '\uFEFFcafé ✓ 😀'],
  ])('answers %s as clean text', async (_label, body, expected) => {
    const url = await rawServer(http('500 Internal Server Error', '', body));
    const result = await sender().send({ url, headers: {}, body: '{}' });
    expect(result).toMatchObject({ ok: false, statusCode: 500, errorClass: 'http_status', responseBody: expected });
    expectClean(result.responseBody);
  });

  it('keeps a body of replacement characters within the cap in bytes, not only in bytes read', async () => {
    const cap = 100;
    for (const fill of [0x00, 0xff]) {
      const url = await rawServer(http('200 OK', '', Buffer.alloc(1000, fill)));
      const result = await sender({ ...base, maxResponseBytes: cap }).send({ url, headers: {}, body: '{}' });
      expect(result.ok).toBe(true);
      expectClean(result.responseBody, cap);
      // 3-byte U+FFFD, as many as fit.
      expect(result.responseBody).toBe('\uFFFD'.repeat(Math.floor(cap / 3)));
    }
  });

  it('drops a multi-byte sequence cut by the cap instead of replacing it', async () => {
    const url = await rawServer(http('200 OK', '', Buffer.from('abé', 'utf8')));
    const result = await sender({ ...base, maxResponseBytes: 3 }).send({ url, headers: {}, body: '{}' });
    expect(result.responseBody).toBe('ab');
  });

  it('reads at most the cap of a 10 MB body, without waiting for the rest', async () => {
    const big = Buffer.alloc(10 * 1024 * 1024, 'x');
    big[5] = 0;
    big.fill(0xff, 100, 200);
    const server = await track(
      startServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(big);
      }),
    );
    const result = await sender().send({ url: server.url, headers: {}, body: '{}' });
    expect(result).toMatchObject({ ok: true, statusCode: 200 });
    expectClean(result.responseBody);
    expect(result.responseBody!.startsWith('xxxxx\uFFFDxxx')).toBe(true);
    expect(result.durationMs).toBeLessThan(5_000);
  });

  it('is not disturbed by odd bytes in the response headers', async () => {
    const odd = Buffer.concat([
      Buffer.from('x-odd: ', 'latin1'),
      Buffer.from([0xff, 0xfe, 0xc3, 0x80, 0x80]),
      Buffer.from('\r\nretry-after: ', 'latin1'),
      Buffer.from([0xff, 0x31]),
      Buffer.from('\r\ncontent-type: text/plain; charset=', 'latin1'),
      Buffer.from([0xe9]),
      Buffer.from('\r\n', 'latin1'),
    ]);
    const url = await rawServer(http('503 Service Unavailable', odd, Buffer.from('down\0', 'latin1')));
    const result = await sender().send({ url, headers: {}, body: '{}' });
    expect(result).toMatchObject({
      ok: false,
      statusCode: 503,
      errorClass: 'http_status',
      errorMessage: 'HTTP 503',
      responseBody: 'down\uFFFD',
      retryAfterSeconds: null,
    });
  });

  it('reports a response whose headers hold NUL or a bare CR as an invalid response, in clean text', async () => {
    for (const headers of ['x-bad: a\0b\r\n', 'x-bad: a\rb\r\n', 'x-b\0d: a\r\n']) {
      const url = await rawServer(http('200 OK', headers, Buffer.from('ok')));
      const result = await sender().send({ url, headers: {}, body: '{}' });
      expect(result, JSON.stringify(headers)).toMatchObject({ ok: false, statusCode: null, errorClass: 'connection' });
      expectClean(result.errorMessage);
    }
  });

  it('storableText replaces NUL and lone surrogates, and leaves everything else alone', () => {
    expect(storableText('ok\0')).toBe('ok\uFFFD');
    expect(storableText('a\ud800b\udc00')).toBe('a\uFFFDb\uFFFD');
    expect(storableText('😀 café \u0001\t')).toBe('😀 café \u0001\t');
  });
});
