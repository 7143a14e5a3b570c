import { describe, expect, it } from 'vitest';
import {
  customHeaderProblem,
  headerNameProblem,
  headerValueProblem,
  isReservedHeader,
  isSenderHeader,
} from '../../src/http/headers';
import { closeAfterEach, ok200, startServer } from './helpers';

const base = { userAgent: 'Herald-Webhooks/test', allowPrivateNetworks: true } as const;
const { track, sender } = closeAfterEach(base);

/** node:http hands header bytes over as ISO-8859-1: this is the value a Node receiver sees. */
const asReceived = (value: string) => Buffer.from(value, 'latin1').toString('latin1');

describe('the custom header rule', () => {
  it('takes RFC 9110 tokens as names', () => {
    for (const name of ['X-Name', 'x', "!#$%&'*+-.^_`|~09azAZ"]) expect(headerNameProblem(name), name).toBeNull();
    for (const name of ['', 'Bad Name', 'X:Y', 'X-Zoë', 'X\u0000', 'X\r\nY', '(x)', 'x/y']) {
      expect(headerNameProblem(name), JSON.stringify(name)).toMatch(/not a valid header name/);
    }
  });

  it('reserves the headers Herald sets, case-insensitively, and no others', () => {
    for (const name of [
      'Content-Type',
      'content-length',
      'User-Agent',
      'HOST',
      'Connection',
      'Keep-Alive',
      'Transfer-Encoding',
      'Upgrade',
      'Expect',
      'TE',
      'Trailer',
      'Proxy-Authorization',
      'proxy-connection',
      'Webhook-Signature',
      'webhook-id',
      'Webhook-Anything',
    ]) {
      expect(isReservedHeader(name), name).toBe(true);
      expect(customHeaderProblem(name, 'x'), name).toBe(`${name.toLowerCase()} is set by Herald`);
    }
    for (const name of ['X-Webhook-Id', 'Authorization', 'X-Proxy', 'Trailers', 'Hostname']) {
      expect(isReservedHeader(name), name).toBe(false);
    }
    // The sender drops only its own: the webhook-* headers it is given are Herald's signatures.
    expect(isSenderHeader('Webhook-Signature')).toBe(false);
    expect(isSenderHeader('Proxy-Authorization')).toBe(true);
  });

  it('takes tab, visible ASCII, space and ISO-8859-1 in values; refuses controls and anything above U+00FF', () => {
    for (const value of ['', 'plain', 'a\tb c', 'Zoë', 'café ñ ü ÿ ©', '\u00a0\u0080\u00ff', 'x'.repeat(1000)]) {
      expect(headerValueProblem(value), JSON.stringify(value)).toBeNull();
    }
    for (const value of ['a\r\nX-Injected: 1', 'a\rb', 'a\nb', 'a\u0000b']) {
      expect(headerValueProblem(value), JSON.stringify(value)).toBe('header values may not contain line breaks or NUL');
    }
    for (const value of ['\u0001', '\u0008', '\u000b', '\u001f', '\u007f']) {
      expect(headerValueProblem(value), JSON.stringify(value)).toMatch(/control characters/);
    }
    // A decomposed 'Zoë' (e + U+0308) looks like the precomposed one but has no ISO-8859-1 byte.
    for (const value of ['Zoe\u0308', 'Łukasz', '日本', '😀', '\u2028', '\u0100', '\ud800', '\udc00x']) {
      expect(headerValueProblem(value), JSON.stringify(value)).toMatch(/up to U\+00FF/);
    }
  });

  it('names the first problem of a header', () => {
    expect(customHeaderProblem('X-Name', 'Zoë')).toBeNull();
    expect(customHeaderProblem('Bad Name', 'Zoe\u0308')).toMatch(/not a valid header name/);
    expect(customHeaderProblem('Host', 'a\r\nb')).toBe('host is set by Herald');
    expect(customHeaderProblem('X-Name', 'Zoe\u0308')).toMatch(/up to U\+00FF/);
  });
});

describe('the sender and the rule agree', () => {
  it('sends a value exactly when the rule accepts it, for every code point up to U+02FF and beyond', async () => {
    const server = await track(startServer(ok200));
    const s = sender();
    const values = [
      ...Array.from({ length: 0x300 }, (_, cp) => `a${String.fromCharCode(cp)}b`),
      'Zoë',
      'Zoe\u0308',
      '😀',
      '\ud800',
      'a\r\nb',
    ];
    for (const value of values) {
      const accepted = headerValueProblem(value) === null;
      const before = server.requests.length;
      const result = await s.send({ url: server.url, headers: { 'X-Value': value }, body: '{}' });
      const label = `U+${value.codePointAt(1)?.toString(16)} ${JSON.stringify(value)}`;
      if (accepted) {
        expect(result.ok, label).toBe(true);
        expect(server.requests[before]?.headers['x-value'], label).toBe(asReceived(value).trim());
      } else {
        expect(result, label).toMatchObject({ ok: false, statusCode: null, errorClass: 'connection' });
        expect(result.errorMessage, label).toContain('invalid request header "X-Value"');
        expect(server.requests.length, label).toBe(before);
      }
    }
  });

  it("sends 'X-Name: Zoë' as the ISO-8859-1 byte 0xEB, which a node:http receiver reads back as 'Zoë'", async () => {
    let raw: string[] = [];
    const server = await track(
      startServer((req, res) => {
        raw = req.rawHeaders;
        ok200(req, res, '');
      }),
    );
    const result = await sender().send({ url: server.url, headers: { 'X-Name': 'Zoë' }, body: '{}' });
    expect(result.ok).toBe(true);
    expect(server.requests[0]?.headers['x-name']).toBe('Zoë');
    const value = raw[raw.findIndex((h) => h.toLowerCase() === 'x-name') + 1]!;
    expect([...Buffer.from(value, 'latin1')]).toEqual([0x5a, 0x6f, 0xeb]);
  });

  it('drops the headers it sets itself and proxy-*, and passes the webhook-* headers it is given', async () => {
    const server = await track(startServer(ok200));
    const result = await sender().send({
      url: server.url,
      headers: {
        'Proxy-Authorization': 'Basic eA==',
        Expect: '100-continue',
        TE: 'trailers',
        'webhook-id': 'msg_1',
        'X-Name': 'Zoë',
      },
      body: '{}',
    });
    expect(result.ok).toBe(true);
    const seen = server.requests[0]!.headers;
    expect(seen['proxy-authorization']).toBeUndefined();
    expect(seen.expect).toBeUndefined();
    expect(seen.te).toBeUndefined();
    expect(seen['webhook-id']).toBe('msg_1');
    expect(seen['x-name']).toBe('Zoë');
  });
});
