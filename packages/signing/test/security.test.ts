import { describe, expect, it } from 'vitest';
import {
  generateSecret,
  signHeaders,
  timingSafeEqualBytes,
  timingSafeEqualString,
  type VerifyResult,
  verify,
} from '../src/index';
import { atReferenceTime, referenceVector as ref, referenceHeaders } from './fixtures';

const validSignature = ref.signature.slice('v1,'.length);

function withSignatureHeader(value: string): Record<string, string> {
  return { ...referenceHeaders, 'webhook-signature': value };
}

function verifyReferenceWith(signatureHeader: string): VerifyResult {
  return verify(ref.body, withSignatureHeader(signatureHeader), ref.secret, atReferenceTime);
}

describe('constant-time comparison', () => {
  it('returns false rather than throwing on unequal lengths', () => {
    expect(timingSafeEqualString('abc', 'abcd')).toBe(false);
    expect(timingSafeEqualString('abcd', 'abc')).toBe(false);
    expect(timingSafeEqualString('', 'a')).toBe(false);
    expect(timingSafeEqualString('a', '')).toBe(false);
    expect(timingSafeEqualBytes(new Uint8Array(32), new Uint8Array(31))).toBe(false);
    expect(timingSafeEqualBytes(new Uint8Array(0), new Uint8Array(64))).toBe(false);
  });

  it('compares equal-length inputs by content', () => {
    expect(timingSafeEqualString(validSignature, validSignature)).toBe(true);
    expect(timingSafeEqualString('', '')).toBe(true);
    expect(timingSafeEqualString('abcd', 'abce')).toBe(false);
    expect(timingSafeEqualBytes(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 3))).toBe(true);
    expect(timingSafeEqualBytes(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 4))).toBe(false);
  });

  it('compares strings by UTF-8 bytes, so same-length strings of different byte length differ', () => {
    expect(timingSafeEqualString('é', 'e')).toBe(false);
    expect(timingSafeEqualString('é', 'é')).toBe(true);
  });
});

describe('malformed signature entries are skipped, not errors', () => {
  const truncations = [
    validSignature.slice(0, -1),
    validSignature.slice(0, -2),
    validSignature.slice(0, 20),
    validSignature.slice(1),
  ];

  it.each(truncations)('rejects truncated signature %j', (truncated) => {
    const result = verifyReferenceWith(`v1,${truncated}`);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('no_matching_signature');
  });

  it.each(['v1a', 'v2', 'V1', 'v0', '', 'v1 '])('rejects a valid signature under version prefix %j', (version) => {
    expect(verifyReferenceWith(`${version},${validSignature}`).ok).toBe(false);
  });

  it('rejects non-canonical encodings of the right digest', () => {
    expect(verifyReferenceWith(`v1,${validSignature.replace(/=+$/, '')}`).ok).toBe(false);
    const urlSafe = validSignature.replaceAll('+', '-').replaceAll('/', '_');
    expect(verifyReferenceWith(`v1,${urlSafe}`).ok).toBe(false);
  });

  it('still finds the valid signature among garbage, other versions and truncations', () => {
    const header = [
      'garbage',
      'v1,',
      ',',
      `v1a,${validSignature}`,
      `v1,${validSignature.slice(0, -4)}`,
      `v1,${'A'.repeat(10_000)}`,
      '',
      ref.signature,
      'v1,trailing',
    ].join(' ');
    expect(verifyReferenceWith(header).ok).toBe(true);
  });

  it('accepts one valid signature among several made with other secrets (rotation)', () => {
    const others = signHeaders({
      id: ref.id,
      timestamp: ref.timestamp,
      body: ref.body,
      secrets: [generateSecret(), generateSecret()],
    });
    expect(verifyReferenceWith(`${others['webhook-signature']} ${ref.signature}`).ok).toBe(true);
    expect(verifyReferenceWith(others['webhook-signature']).ok).toBe(false);
  });
});

describe('replay and substitution', () => {
  it('binds the signature to the timestamp: a refreshed timestamp fails', () => {
    const replayed = { ...referenceHeaders, 'webhook-timestamp': String(ref.timestamp + 60) };
    expect(verify(ref.body, replayed, ref.secret, { now: ref.timestamp + 60 }).ok).toBe(false);
  });

  it('binds the signature to the message id', () => {
    const renamed = { ...referenceHeaders, 'webhook-id': 'msg_someone_else' };
    expect(verify(ref.body, renamed, ref.secret, atReferenceTime).ok).toBe(false);
  });

  it('rejects a retired secret once rotation is complete', () => {
    const retired = generateSecret();
    const current = generateSecret();
    const headers = signHeaders({ id: 'msg', timestamp: 1_700_000_000, body: '{}', secrets: retired });
    expect(verify('{}', headers, current, { now: 1_700_000_000 }).ok).toBe(false);
  });
});

describe('error messages never leak secret material', () => {
  const secret = generateSecret();
  const key = secret.slice('whsec_'.length);
  const body = '{"a":1}';
  const now = 1_700_000_000;
  const headers = signHeaders({ id: 'msg_leak', timestamp: now, body, secrets: secret });
  const expectedSignature = headers['webhook-signature'].slice('v1,'.length);

  const failures: VerifyResult[] = [
    verify('tampered', headers, secret, { now }),
    verify(body, headers, secret, { now: now + 10_000 }),
    verify(body, headers, secret, { now: now - 10_000 }),
    verify(body, { ...headers, 'webhook-timestamp': 'x' }, secret, { now }),
    verify(body, { ...headers, 'webhook-id': '' }, secret, { now }),
    verify(body, headers, `${secret}!`, { now }),
    verify(body, headers, [secret, `whsec_${key.slice(0, -2)}!`], { now }),
  ];

  it('covers every failure path with a message free of the key and the expected signature', () => {
    const codes = new Set<string>();
    for (const result of failures) {
      expect(result.ok).toBe(false);
      if (result.ok) continue;
      codes.add(result.error.code);
      const visible = `${result.error.message} ${String(result.error.stack)} ${JSON.stringify(result.error)}`;
      expect(visible).not.toContain(key);
      expect(visible).not.toContain(key.slice(0, 16));
      expect(visible).not.toContain(expectedSignature);
    }
    expect(codes.size).toBe(6);
  });
});
