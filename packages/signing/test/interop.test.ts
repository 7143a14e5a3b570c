import { createServer, type IncomingHttpHeaders, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSecret, signHeaders, verify } from '../src/index';
import { nowSeconds } from './fixtures';

// Both reference libraries check the timestamp against the real clock, so
// every message here is stamped "now".
const body = JSON.stringify({ type: 'invoice.paid', data: { id: 'inv_1', note: 'Zoë 🚀' } });

const libraries = [
  ['standardwebhooks', (secret: string) => new StandardWebhook(secret)],
  ['svix', (secret: string) => new SvixWebhook(secret)],
] as const;

describe.each(libraries)('interoperability with %s', (_name, createWebhook) => {
  it('verifies Herald signatures', () => {
    const secret = generateSecret();
    const headers = signHeaders({ id: 'msg_herald', timestamp: nowSeconds(), body, secrets: secret });
    expect(() => createWebhook(secret).verify(body, headers)).not.toThrow();
  });

  it('verifies Herald signatures made with a bare base64 secret and a byte body', () => {
    const secret = generateSecret(24);
    const bare = secret.slice('whsec_'.length);
    const headers = signHeaders({ id: 'msg_bytes', timestamp: new Date(), body: Buffer.from(body), secrets: bare });
    expect(() => createWebhook(secret).verify(body, headers)).not.toThrow();
  });

  it('verifies a Herald rotation header holding several secrets', () => {
    const [oldSecret, newSecret] = [generateSecret(), generateSecret(64)];
    const headers = signHeaders({ id: 'msg_rot', timestamp: nowSeconds(), body, secrets: [oldSecret, newSecret] });
    expect(() => createWebhook(oldSecret).verify(body, headers)).not.toThrow();
    expect(() => createWebhook(newSecret).verify(body, headers)).not.toThrow();
  });

  it('rejects a Herald signature over a different body', () => {
    const secret = generateSecret();
    const headers = signHeaders({ id: 'msg_t', timestamp: nowSeconds(), body, secrets: secret });
    expect(() => createWebhook(secret).verify(`${body} `, headers)).toThrow();
  });

  it('produces signatures Herald verifies', () => {
    const secret = generateSecret();
    const sentAt = new Date();
    const id = 'msg_reference';
    const headers = {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
      'webhook-signature': createWebhook(secret).sign(id, sentAt, body),
    };
    expect(verify(body, headers, secret)).toEqual({
      ok: true,
      message: { id, timestamp: Math.floor(sentAt.getTime() / 1000), body },
    });
    expect(verify(body, headers, generateSecret()).ok).toBe(false);
  });
});

it('standardwebhooks hands back the parsed JSON of a Herald-signed body', () => {
  const secret = generateSecret();
  const headers = signHeaders({ id: 'msg_json', timestamp: nowSeconds(), body, secrets: secret });
  expect(new StandardWebhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
});

it('svix accepts Herald signatures under its svix-* header names', () => {
  const secret = generateSecret();
  const headers = signHeaders({ id: 'msg_svix', timestamp: nowSeconds(), body, secrets: secret });
  const svixHeaders = {
    'svix-id': headers['webhook-id'],
    'svix-timestamp': headers['webhook-timestamp'],
    'svix-signature': headers['webhook-signature'],
  };
  expect(() => new SvixWebhook(secret).verify(body, svixHeaders)).not.toThrow();
});

describe('a webhook-signature header sent twice', () => {
  /** A real Node HTTP server: what its `req.headers` holds after a request with these header lines. */
  const server = createServer((req, res) => res.end(JSON.stringify(req.headers)));
  const listening = new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  async function received(headers: Record<string, string | string[]>): Promise<IncomingHttpHeaders> {
    await listening;
    const { port } = server.address() as AddressInfo;
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', headers }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk));
        res.on('end', () => resolve(JSON.parse(text)));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  it('is joined by Node with ", " and verifies whichever line holds the signature, as the reference libraries do', async () => {
    const secret = generateSecret();
    const signed = signHeaders({ id: 'msg_twice', timestamp: nowSeconds(), body, secrets: secret });
    const good = signed['webhook-signature'];
    const bogus = `v1,${Buffer.alloc(32, 1).toString('base64')}`;
    for (const lines of [
      [good, bogus],
      [bogus, good],
      [`${good} ${bogus}`, bogus],
    ]) {
      const headers = await received({ ...signed, 'webhook-signature': lines });
      expect(headers['webhook-signature']).toBe(lines.join(', '));
      const svixHeaders = {
        'svix-id': headers['webhook-id'],
        'svix-timestamp': headers['webhook-timestamp'],
        'svix-signature': headers['webhook-signature'],
      };
      expect(() => new StandardWebhook(secret).verify(body, headers as Record<string, string>)).not.toThrow();
      expect(() => new SvixWebhook(secret).verify(body, svixHeaders as Record<string, string>)).not.toThrow();
      expect(verify(body, headers, secret)).toMatchObject({ ok: true, message: { id: 'msg_twice', body } });
    }
    const forged = await received({ ...signed, 'webhook-signature': [bogus, `${bogus},${good.slice(3)}`] });
    expect(() => new StandardWebhook(secret).verify(body, forged as Record<string, string>)).toThrow();
    expect(verify(body, forged, secret)).toMatchObject({ ok: false, error: { code: 'no_matching_signature' } });
  });

  it('verifies a signature in any element of an array of values (headersDistinct, multiValueHeaders)', () => {
    const secret = generateSecret();
    const signed = signHeaders({ id: 'msg_array', timestamp: nowSeconds(), body, secrets: secret });
    const bogus = `v1,${Buffer.alloc(32, 1).toString('base64')}`;
    const distinct = { ...signed, 'webhook-signature': [bogus, signed['webhook-signature']] };
    expect(verify(body, distinct, secret)).toMatchObject({ ok: true, message: { id: 'msg_array' } });
    expect(verify(body, { ...signed, 'webhook-signature': [bogus, bogus] }, secret)).toMatchObject({
      ok: false,
      error: { code: 'no_matching_signature' },
    });
  });
});
