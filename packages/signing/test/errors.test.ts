import { describe, expect, it } from 'vitest';
import {
  decodeSecret,
  generateSecret,
  signHeaders,
  signPayload,
  type VerifyResult,
  verify,
  verifyOrThrow,
  WebhookVerificationError,
  type WebhookVerificationErrorCode,
} from '../src/index';
import { atReferenceTime, referenceVector as ref, referenceHeaders } from './fixtures';

function expectFailure(result: VerifyResult, code: WebhookVerificationErrorCode): WebhookVerificationError {
  if (result.ok) throw new Error(`expected ${code}, but verification succeeded`);
  expect(result.error).toBeInstanceOf(WebhookVerificationError);
  expect(result.error.code).toBe(code);
  return result.error;
}

const headerNames = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;

describe('missing headers', () => {
  for (const name of headerNames) {
    it(`reports a missing ${name}`, () => {
      const { [name]: _removed, ...rest } = referenceHeaders;
      const error = expectFailure(verify(ref.body, rest, ref.secret, atReferenceTime), 'missing_header');
      expect(error.message).toContain(name);
      expectFailure(verify(ref.body, new Headers(rest), ref.secret, atReferenceTime), 'missing_header');
    });

    it(`treats an empty ${name} as missing`, () => {
      const headers = { ...referenceHeaders, [name]: '' };
      expectFailure(verify(ref.body, headers, ref.secret, atReferenceTime), 'missing_header');
      expectFailure(
        verify(ref.body, { ...referenceHeaders, [name]: [] }, ref.secret, atReferenceTime),
        'missing_header',
      );
    });
  }

  it('treats absent header objects as missing headers rather than throwing', () => {
    const absent = [null, undefined] as unknown as Record<string, string>[];
    for (const headers of absent) {
      expectFailure(verify(ref.body, headers, ref.secret, atReferenceTime), 'missing_header');
    }
  });
});

describe('timestamps', () => {
  const secret = generateSecret();
  const body = '{}';
  const sentAt = 1_700_000_000;
  const headers = signHeaders({ id: 'msg_t', timestamp: sentAt, body, secrets: secret });

  it.each([
    'abc',
    '1700000000.5',
    '-1700000000',
    '+1700000000',
    ' 1700000000',
    '1700000000 ',
    '1.7e9',
    '0x10',
    '01700000000',
    '99999999999999999999',
  ])('rejects %j as invalid_timestamp', (timestamp) => {
    expectFailure(
      verify(body, { ...headers, 'webhook-timestamp': timestamp }, secret, { now: sentAt }),
      'invalid_timestamp',
    );
  });

  it('rejects a stale timestamp beyond the default 300s tolerance', () => {
    expectFailure(verify(body, headers, secret, { now: sentAt + 301 }), 'timestamp_too_old');
  });

  it('rejects a future timestamp beyond the default 300s tolerance', () => {
    expectFailure(verify(body, headers, secret, { now: sentAt - 301 }), 'timestamp_too_new');
  });

  it('accepts timestamps exactly at the tolerance boundary', () => {
    expect(verify(body, headers, secret, { now: sentAt + 300 }).ok).toBe(true);
    expect(verify(body, headers, secret, { now: sentAt - 300 }).ok).toBe(true);
    expect(verify(body, headers, secret, { now: new Date((sentAt + 300) * 1000 + 999) }).ok).toBe(true);
  });

  it('honours a custom tolerance', () => {
    expect(verify(body, headers, secret, { now: sentAt + 10, toleranceSeconds: 10 }).ok).toBe(true);
    expectFailure(verify(body, headers, secret, { now: sentAt + 11, toleranceSeconds: 10 }), 'timestamp_too_old');
    expect(verify(body, headers, secret, { now: sentAt, toleranceSeconds: 0 }).ok).toBe(true);
    expectFailure(verify(body, headers, secret, { now: sentAt - 1, toleranceSeconds: 0 }), 'timestamp_too_new');
  });

  it('checks the timestamp against the real clock by default', () => {
    expectFailure(verify(body, headers, secret), 'timestamp_too_old');
  });
});

describe('signature mismatches', () => {
  it('rejects a tampered body', () => {
    expectFailure(
      verify('{"test": 2432232315}', referenceHeaders, ref.secret, atReferenceTime),
      'no_matching_signature',
    );
  });

  it('rejects a signature made with another secret', () => {
    expectFailure(verify(ref.body, referenceHeaders, generateSecret(), atReferenceTime), 'no_matching_signature');
  });

  it('rejects a header with no v1 signatures at all', () => {
    const headers = { ...referenceHeaders, 'webhook-signature': 'v1a,abc v2,def' };
    expectFailure(verify(ref.body, headers, ref.secret, atReferenceTime), 'no_matching_signature');
  });
});

describe('invalid secrets', () => {
  it.each([
    '',
    'whsec_',
    'whsec_not base64!',
    'whsec_a',
    'whsec_abcde',
    'whsec_YWJj=',
    'whsec_YW=Jj',
    'whsec_YQ=',
    'hunter2!',
  ])('decodeSecret rejects %j', (secret) => {
    expect(() => decodeSecret(secret)).toThrow(WebhookVerificationError);
    try {
      decodeSecret(secret);
    } catch (error) {
      expect((error as WebhookVerificationError).code).toBe('invalid_secret');
    }
  });

  it('decodeSecret takes a secret whose `=` padding was lost, as the reference libraries do', () => {
    for (const bytes of [32, 33, 64]) {
      const secret = generateSecret(bytes);
      expect(decodeSecret(secret.replace(/=+$/, ''))).toEqual(decodeSecret(secret));
    }
  });

  it('verify returns invalid_secret instead of throwing', () => {
    expectFailure(verify(ref.body, referenceHeaders, 'whsec_%%%', atReferenceTime), 'invalid_secret');
    expectFailure(verify(ref.body, referenceHeaders, [], atReferenceTime), 'invalid_secret');
    expectFailure(verify(ref.body, referenceHeaders, [ref.secret, 'garbage!'], atReferenceTime), 'invalid_secret');
    expectFailure(
      verify(ref.body, referenceHeaders, undefined as unknown as string, atReferenceTime),
      'invalid_secret',
    );
  });

  it('signPayload throws invalid_secret', () => {
    expect(() => signPayload({ id: 'm', timestamp: 1, body: '', secrets: 'whsec_' })).toThrow(WebhookVerificationError);
  });
});

describe('programming errors throw', () => {
  const secret = generateSecret();

  it('generateSecret rejects sizes outside 24..64', () => {
    for (const size of [0, 23, 65, 32.5, Number.NaN]) {
      expect(() => generateSecret(size)).toThrow(RangeError);
    }
  });

  it('signPayload rejects an empty id or an empty secret list', () => {
    expect(() => signPayload({ id: '', timestamp: 1, body: '', secrets: secret })).toThrow(TypeError);
    expect(() => signPayload({ id: 'm', timestamp: 1, body: '', secrets: [] })).toThrow(TypeError);
  });

  it('signPayload rejects timestamps that are not whole non-negative seconds', () => {
    for (const timestamp of [Number.NaN, -1, 1.5, Number.POSITIVE_INFINITY, new Date('nope')]) {
      expect(() => signPayload({ id: 'm', timestamp, body: '', secrets: secret })).toThrow(RangeError);
    }
  });

  it('verify rejects a parsed (non-raw) body', () => {
    const parsed = JSON.parse(ref.body) as unknown as string;
    expect(() => verify(parsed, referenceHeaders, ref.secret, atReferenceTime)).toThrow(TypeError);
  });

  it('verify rejects options that would break the replay window', () => {
    for (const toleranceSeconds of [-1, Number.NaN]) {
      expect(() => verify(ref.body, referenceHeaders, ref.secret, { ...atReferenceTime, toleranceSeconds })).toThrow(
        RangeError,
      );
    }
    expect(() => verify(ref.body, referenceHeaders, ref.secret, { now: new Date('nope') })).toThrow(RangeError);
    expect(() => verify(ref.body, referenceHeaders, ref.secret, { now: Number.NaN })).toThrow(RangeError);
  });
});

describe('verifyOrThrow', () => {
  it('throws the WebhookVerificationError with its code', () => {
    expect(() => verifyOrThrow('tampered', referenceHeaders, ref.secret, atReferenceTime)).toThrow(
      expect.objectContaining({ name: 'WebhookVerificationError', code: 'no_matching_signature' }),
    );
  });
});
