import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { describe, expect, it } from 'vitest';
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
