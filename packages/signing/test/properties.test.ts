import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signHeaders, verify } from '../src/index';

const secretArb = fc
  .uint8Array({ minLength: 24, maxLength: 64 })
  .map((bytes) => `whsec_${Buffer.from(bytes).toString('base64')}`);
const secretsArb = fc.array(secretArb, { minLength: 1, maxLength: 3 });
const timestampArb = fc.integer({ min: 0, max: 4_102_444_800 });

// Any UTF-16 code unit, lone surrogates included: the "binary-ish" strings a
// careless caller could hand us. They round-trip because both sides encode
// them to UTF-8 the same way.
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));
const looseStringArb = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: anyCodeUnit }),
  fc.string({ unit: 'grapheme' }),
);
const bodyArb = fc.oneof(looseStringArb, fc.uint8Array({ maxLength: 512 }));

// Tampering checks need strings whose UTF-8 encoding is one-to-one: two JS
// strings differing only in lone surrogates both encode to U+FFFD, so they
// are the same bytes on the wire and must verify alike. Real bodies and
// header values are decoded from bytes and never contain lone surrogates.
const wellFormedIdArb = fc.string({ unit: 'binary', minLength: 1 });
const wellFormedBodyArb = fc.oneof(fc.string({ unit: 'binary' }), fc.uint8Array({ maxLength: 512 }));

function bodyText(body: string | Uint8Array): string {
  return typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
}

function wireBytes(body: string | Uint8Array): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
}

describe('sign → verify properties', () => {
  it('round-trips arbitrary ids, bodies and 1–3 secrets; each secret verifies on its own', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: anyCodeUnit, minLength: 1 }),
        timestampArb,
        bodyArb,
        secretsArb,
        (id, timestamp, body, secrets) => {
          const headers = signHeaders({ id, timestamp, body, secrets });
          const result = verify(body, headers, secrets, { now: timestamp });
          expect(result).toEqual({ ok: true, message: { id, timestamp, body: bodyText(body) } });
          for (const secret of secrets) {
            expect(verify(body, headers, secret, { now: timestamp }).ok).toBe(true);
          }
        },
      ),
    );
  });

  it('fails when the id changes', () => {
    fc.assert(
      fc.property(
        wellFormedIdArb,
        wellFormedIdArb,
        timestampArb,
        wellFormedBodyArb,
        secretsArb,
        (id, otherId, timestamp, body, secrets) => {
          fc.pre(id !== otherId);
          const headers = signHeaders({ id, timestamp, body, secrets });
          expect(verify(body, { ...headers, 'webhook-id': otherId }, secrets, { now: timestamp }).ok).toBe(false);
        },
      ),
    );
  });

  it('fails when the timestamp changes, even inside the tolerance window', () => {
    fc.assert(
      fc.property(
        wellFormedIdArb,
        timestampArb,
        timestampArb,
        wellFormedBodyArb,
        secretsArb,
        (id, timestamp, otherTimestamp, body, secrets) => {
          fc.pre(timestamp !== otherTimestamp);
          const headers = signHeaders({ id, timestamp, body, secrets });
          const tampered = { ...headers, 'webhook-timestamp': String(otherTimestamp) };
          expect(verify(body, tampered, secrets, { now: otherTimestamp }).ok).toBe(false);
        },
      ),
    );
  });

  it('fails when the body changes', () => {
    fc.assert(
      fc.property(
        wellFormedIdArb,
        timestampArb,
        wellFormedBodyArb,
        wellFormedBodyArb,
        secretsArb,
        (id, timestamp, body, otherBody, secrets) => {
          fc.pre(!wireBytes(body).equals(wireBytes(otherBody)));
          const headers = signHeaders({ id, timestamp, body, secrets });
          expect(verify(otherBody, headers, secrets, { now: timestamp }).ok).toBe(false);
        },
      ),
    );
  });

  it('fails when a single body byte flips', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 256 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        secretArb,
        (body, position, flip, secret) => {
          const headers = signHeaders({ id: 'msg', timestamp: 1_700_000_000, body, secrets: secret });
          const tampered = Uint8Array.from(body);
          const index = position % body.length;
          tampered[index] = (tampered[index] ?? 0) ^ flip;
          expect(verify(tampered, headers, secret, { now: 1_700_000_000 }).ok).toBe(false);
        },
      ),
    );
  });

  it('never throws on arbitrary header values', () => {
    const headerValueArb = fc.option(fc.oneof(looseStringArb, fc.array(looseStringArb, { maxLength: 3 })), {
      nil: undefined,
    });
    fc.assert(
      fc.property(
        headerValueArb,
        headerValueArb,
        headerValueArb,
        bodyArb,
        secretArb,
        (id, timestamp, signature, body, secret) => {
          const headers = { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature };
          const result = verify(body, headers, secret);
          expect(typeof result.ok).toBe('boolean');
        },
      ),
    );
  });
});
