import { describe, expect, it } from 'vitest';
import { withoutSecretsOf } from '../../src/http/answer-redaction';

/** What `herald listen` reports keeps (listen-relay.ts): its request's signature is not known. */
describe('withoutSecretsOf', () => {
  const sig = 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhn+Z2pj9o9NDN/H/pI4=';

  it.each([
    ['as sent', sig],
    ['JSON with escaped slashes', sig.replaceAll('/', '\\/')],
    ['percent-encoded', encodeURIComponent(sig)],
    [
      'HTML references (Go html/template)',
      sig.replaceAll('+', '&#43;').replaceAll('/', '&#x2F;').replace('=', '&#61;'),
    ],
    ['JSON \\u escapes', sig.replaceAll('+', '\\u002B').replace(',', '\\u002c')],
  ])('takes out every signature: %s', (_, written) => {
    const out = withoutSecretsOf(`{"echo":"${written}"}`, {});
    expect(out).toBe('{"echo":"v1,[redacted]"}');
  });

  it('takes out custom header values, and what a cut-off excerpt ends with', () => {
    const headers = { authorization: 'Bearer local-receiver-token' };
    expect(withoutSecretsOf('sent: Bearer local-receiver-token', headers)).toBe('sent: [redacted]');
    const long = 'x'.repeat(4_000);
    expect(withoutSecretsOf(`${long}${sig.slice(0, 20)}`, {})).toBe(`${long}v1,[redacted]`);
    expect(withoutSecretsOf(`${long}local-recei`, headers)).toBe(`${long}[redacted]`);
  });

  it('leaves text that only looks like the start of one', () => {
    expect(withoutSecretsOf('v1,short and v1,words', {})).toBe('v1,short and v1,words');
  });
});
