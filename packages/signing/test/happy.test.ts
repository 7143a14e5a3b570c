import { describe, expect, it } from 'vitest';
import { decodeSecret, generateSecret, signHeaders, signPayload, verify, verifyOrThrow } from '../src/index';
import { keyCacheStats } from '../src/secret';
import { atReferenceTime, referenceVector as ref, referenceHeaders } from './fixtures';

describe('reference vector', () => {
  it('signs to the published signature', () => {
    expect(signPayload({ id: ref.id, timestamp: ref.timestamp, body: ref.body, secrets: ref.secret })).toBe(
      ref.signature,
    );
  });

  it('verifies the published signature', () => {
    const result = verify(ref.body, referenceHeaders, ref.secret, atReferenceTime);
    expect(result).toEqual({ ok: true, message: { id: ref.id, timestamp: ref.timestamp, body: ref.body } });
  });

  it('accepts the secret without its whsec_ prefix', () => {
    const bare = ref.secret.slice('whsec_'.length);
    expect(signPayload({ id: ref.id, timestamp: ref.timestamp, body: ref.body, secrets: bare })).toBe(ref.signature);
    expect(verify(ref.body, referenceHeaders, bare, atReferenceTime).ok).toBe(true);
  });

  it('accepts now as a Date', () => {
    expect(verify(ref.body, referenceHeaders, ref.secret, { now: new Date(ref.timestamp * 1000) }).ok).toBe(true);
  });
});

describe('signing', () => {
  it('signs a Date timestamp as whole seconds', () => {
    const date = new Date(ref.timestamp * 1000 + 999);
    expect(signPayload({ id: ref.id, timestamp: date, body: ref.body, secrets: ref.secret })).toBe(ref.signature);
  });

  it('signs byte bodies identically to their UTF-8 string', () => {
    const body = '{"name":"Zoë 🚀"}';
    const base = { id: 'msg_1', timestamp: 1_700_000_000, secrets: ref.secret };
    expect(signPayload({ ...base, body: new TextEncoder().encode(body) })).toBe(signPayload({ ...base, body }));
  });

  it('emits one v1 entry per secret, in order', () => {
    const secrets = [generateSecret(), generateSecret(), generateSecret()];
    const input = { id: 'msg_rot', timestamp: 1_700_000_000, body: '{}' };
    const header = signPayload({ ...input, secrets });
    expect(header.split(' ')).toEqual(secrets.map((secret) => signPayload({ ...input, secrets: secret })));
  });

  it('builds all three headers', () => {
    expect(signHeaders({ id: ref.id, timestamp: ref.timestamp, body: ref.body, secrets: [ref.secret] })).toEqual(
      referenceHeaders,
    );
  });

  it('keeps the decoded-key cache bounded', () => {
    for (let i = 0; i < 300; i++) {
      signPayload({ id: 'msg', timestamp: 1, body: '', secrets: generateSecret() });
    }
    expect(keyCacheStats().size).toBeLessThanOrEqual(256);
    const recent = generateSecret();
    signPayload({ id: 'msg', timestamp: 1, body: '', secrets: recent });
    expect(keyCacheStats(recent).has).toBe(true);
  });
});

describe('secrets', () => {
  it('generates whsec_ secrets of the requested size', () => {
    for (const byteLength of [24, 32, 64]) {
      const secret = generateSecret(byteLength);
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
      expect(decodeSecret(secret)).toHaveLength(byteLength);
    }
    expect(decodeSecret(generateSecret())).toHaveLength(32);
  });

  it('generates distinct secrets', () => {
    expect(new Set(Array.from({ length: 50 }, () => generateSecret())).size).toBe(50);
  });

  it('decodes the reference secret to its key bytes', () => {
    expect(decodeSecret(ref.secret)).toEqual(Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64'));
  });
});

describe('verification', () => {
  const secret = generateSecret();
  const body = '{"event":"invoice.paid"}';
  const now = 1_700_000_000;
  const headers = signHeaders({ id: 'msg_ok', timestamp: now, body, secrets: secret });

  it('reads Fetch Headers', () => {
    expect(verify(body, new Headers(headers), secret, { now }).ok).toBe(true);
  });

  it('reads record keys of any case', () => {
    const shouting = {
      'WEBHOOK-ID': headers['webhook-id'],
      'Webhook-Timestamp': headers['webhook-timestamp'],
      'webhook-Signature': headers['webhook-signature'],
    };
    expect(verify(body, shouting, secret, { now }).ok).toBe(true);
  });

  it('uses the first value of repeated (array) headers', () => {
    const repeated = {
      'webhook-id': [headers['webhook-id'], 'msg_other'],
      'webhook-timestamp': [headers['webhook-timestamp']],
      'webhook-signature': headers['webhook-signature'],
      'content-type': undefined,
    };
    expect(verify(body, repeated, secret, { now }).ok).toBe(true);
  });

  it('accepts byte bodies, including views into a larger buffer', () => {
    const padded = Buffer.from(`xx${body}yy`);
    const view = padded.subarray(2, padded.length - 2);
    const result = verify(view, headers, secret, { now });
    expect(result).toEqual({ ok: true, message: { id: 'msg_ok', timestamp: now, body } });
  });

  it('defaults now to the real clock', () => {
    const fresh = signHeaders({ id: 'msg_now', timestamp: new Date(), body, secrets: secret });
    expect(verify(body, fresh, secret).ok).toBe(true);
  });

  it('verifies empty bodies', () => {
    const empty = signHeaders({ id: 'msg_empty', timestamp: now, body: '', secrets: secret });
    expect(verify('', empty, secret, { now }).ok).toBe(true);
  });

  it('verifyOrThrow returns the message', () => {
    expect(verifyOrThrow(body, headers, secret, { now })).toEqual({ id: 'msg_ok', timestamp: now, body });
  });
});

describe('key rotation', () => {
  const oldSecret = generateSecret();
  const newSecret = generateSecret();
  const body = '{"rotating":true}';
  const now = 1_700_000_000;

  it('a receiver holding both secrets accepts either sender', () => {
    for (const senderSecret of [oldSecret, newSecret]) {
      const headers = signHeaders({ id: 'msg_r', timestamp: now, body, secrets: senderSecret });
      expect(verify(body, headers, [oldSecret, newSecret], { now }).ok).toBe(true);
    }
  });

  it('a sender signing with both secrets is accepted by a receiver holding either', () => {
    const headers = signHeaders({ id: 'msg_r', timestamp: now, body, secrets: [oldSecret, newSecret] });
    expect(verify(body, headers, oldSecret, { now }).ok).toBe(true);
    expect(verify(body, headers, newSecret, { now }).ok).toBe(true);
  });
});
