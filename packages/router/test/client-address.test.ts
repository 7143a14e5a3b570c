import { describe, expect, it } from 'vitest';
import { clientAddress, parseTrustedProxies, trustedProxies } from '../src/services/client-address';

describe('HERALD_TRUSTED_PROXIES', () => {
  it('takes addresses, CIDR ranges and the loopback / private shorthands', () => {
    expect(parseTrustedProxies(' 10.0.0.0/8, ::1 ,loopback,,private ')).toEqual([
      '10.0.0.0/8',
      '::1',
      'loopback',
      'private',
    ]);
  });

  it.each([
    'proxy.internal',
    '10.0.0.0/33',
    '::1/129',
    '10.0.0.0/8/8',
    '10.0.0.0/',
    '10.0.0.0/-1',
    '10.0.0.0/1e1',
    '*',
  ])('refuses %j, naming it', (entry) => {
    expect(() => parseTrustedProxies(`127.0.0.1,${entry}`)).toThrow(entry);
  });

  it('matches IPv4 peers however Node writes them, and IPv6 ranges', () => {
    const trusted = trustedProxies(['10.0.0.0/8', 'fd00::/8']);
    expect(trusted.has('10.1.2.3')).toBe(true);
    expect(trusted.has('::ffff:10.1.2.3')).toBe(true);
    expect(trusted.has('11.0.0.1')).toBe(false);
    expect(trusted.has('fd12::1')).toBe(true);
    expect(trusted.has('fe80::1')).toBe(false);
    expect(trusted.has('not an address')).toBe(false);
  });
});

describe('the client address behind trusted proxies', () => {
  const trusted = trustedProxies(['loopback', '10.0.0.0/8']);

  it('is the socket peer when the peer is not a trusted proxy: its X-Forwarded-For is ignored', () => {
    expect(clientAddress('203.0.113.9', '198.51.100.1', trusted)).toBe('203.0.113.9');
  });

  it('is the peer when a trusted proxy forwarded nothing', () => {
    expect(clientAddress('127.0.0.1', null, trusted)).toBe('127.0.0.1');
    expect(clientAddress(undefined, '198.51.100.1', trusted)).toBeUndefined();
  });

  it('is the rightmost entry that is not a trusted proxy: what the client wrote itself is never believed', () => {
    expect(clientAddress('::ffff:127.0.0.1', '198.51.100.1', trusted)).toBe('198.51.100.1');
    // The client sent "X-Forwarded-For: 192.0.2.66"; its proxy appended the client's real address.
    expect(clientAddress('127.0.0.1', '192.0.2.66, 198.51.100.1', trusted)).toBe('198.51.100.1');
    // Two proxies: the second appended the first's address, which is trusted, so the walk goes on.
    expect(clientAddress('127.0.0.1', '192.0.2.66, 198.51.100.1, 10.0.0.5', trusted)).toBe('198.51.100.1');
  });

  it('reads ports, brackets and IPv4-mapped entries as addresses', () => {
    expect(clientAddress('127.0.0.1', '198.51.100.1:4711', trusted)).toBe('198.51.100.1');
    expect(clientAddress('127.0.0.1', '[2001:db8::1]:443', trusted)).toBe('2001:db8::1');
    expect(clientAddress('127.0.0.1', '::ffff:198.51.100.1', trusted)).toBe('198.51.100.1');
  });

  it('stops at an entry that is not an address, on the last hop a trusted proxy vouched for', () => {
    expect(clientAddress('127.0.0.1', 'unknown', trusted)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', '198.51.100.1, garbage\u0000, 10.0.0.5', trusted)).toBe('10.0.0.5');
  });

  it('looks at most 32 entries back, however long the header', () => {
    const chain = `198.51.100.1, ${Array(5000).fill('10.0.0.5').join(', ')}`;
    expect(clientAddress('127.0.0.1', chain, trusted)).toBe('10.0.0.5');
  });
});
