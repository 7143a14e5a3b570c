import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import type { Resolver } from '../../src/http/ssrf';
import { classifyIp, createVettingLookup, SsrfBlockedError, vetUrl } from '../../src/http/ssrf';

describe('classifyIp', () => {
  it.each([
    '93.184.216.34',
    '8.8.8.8',
    '1.1.1.1',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '2606:4700::1',
    '2a00:1450:4001::200e',
    '2001:4860:4860::8888',
    // Wrappers around a public IPv4 are as public as the address they carry.
    '::ffff:93.184.216.34',
    '64:ff9b::5db8:d822',
    '2002:5db8:d822::1',
  ])('allows public %s', (ip) => {
    expect(classifyIp(ip)).toEqual({ allowed: true });
  });

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['10.0.0.1', 'RFC 1918'],
    ['172.16.0.1', 'RFC 1918'],
    ['172.31.255.255', 'RFC 1918'],
    ['192.168.1.1', 'RFC 1918'],
    ['169.254.1.1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['192.0.2.1', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fd00:ec2::254', 'metadata'],
    ['ff02::1', 'multicast'],
    ['fec0::1', 'site-local'],
    ['100::1', 'reserved'],
    ['2001:db8::1', 'documentation'],
    ['3fff:fff::1', 'documentation'],
    ['2001::1', 'Teredo'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::FFFF:A9FE:A9FE', 'metadata'],
    ['::ffff:10.1.2.3', 'RFC 1918'],
    ['::127.0.0.1', 'IPv4-compatible'],
    ['::a00:1', 'RFC 1918'],
    ['::ffff:0:127.0.0.1', 'IPv4-translated'],
    ['64:ff9b::a9fe:a9fe', 'NAT64'],
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b:1::5db8:d822', 'local-use NAT64'],
    ['2002:a9fe:a9fe::1', '6to4'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:c0a8:101:1::1', 'RFC 1918'],
  ])('refuses %s (%s)', (ip, why) => {
    const verdict = classifyIp(ip);
    expect(verdict.allowed).toBe(false);
    expect(verdict.allowed ? '' : verdict.reason).toContain(why);
  });

  it('refuses things that are not IP literals', () => {
    expect(classifyIp('example.com').allowed).toBe(false);
    expect(classifyIp('').allowed).toBe(false);
  });
});

describe('vetUrl', () => {
  const strict = { allowPrivateNetworks: false };

  // The point of going through WHATWG URL: every odd IPv4 spelling reaches us canonical.
  it.each([
    ['https://127.1/', '127.0.0.1'],
    ['https://0/', '0.0.0.0'],
    ['https://2130706433/', '127.0.0.1'],
    ['https://0x7f000001/', '127.0.0.1'],
    ['https://0177.0.0.1/', '127.0.0.1'],
    ['https://0x7f.1/', '127.0.0.1'],
    ['https://0251.0376.0251.0376/', '169.254.169.254'],
    ['https://169.254.169.254./', '169.254.169.254'],
    ['https://%31%32%37.0.0.1/', '127.0.0.1'],
    ['https://①②⑦.0.0.1/', '127.0.0.1'],
  ])('canonicalizes %s to %s and refuses it', (input, canonical) => {
    expect(new URL(input).hostname).toBe(canonical);
    expect(vetUrl(input, strict).ok).toBe(false);
    const loose = vetUrl(input, { allowPrivateNetworks: true });
    expect(loose.ok && loose.literalIp).toBe(canonical);
  });

  it.each([
    ['https://localhost./', 'localhost'],
    ['https://LOCALHOST/', 'localhost'],
    ['https://api.localhost/', 'localhost'],
    ['https://[::]/', 'unspecified'],
    ['https://[::1]/', 'loopback'],
    ['https://[::ffff:127.0.0.1]/', 'loopback'],
    ['https://[64:ff9b::a9fe:a9fe]/', 'metadata'],
    ['https://[2002:a9fe:a9fe::1]/', 'metadata'],
    ['https://[fd00:ec2::254]/', 'metadata'],
    ['https://100.64.0.1/', 'carrier-grade NAT'],
    ['https://10.0.0.1/', 'RFC 1918'],
    ['https://172.16.0.1/', 'RFC 1918'],
    ['https://192.168.1.1/', 'RFC 1918'],
    ['file:///etc/passwd', 'scheme file:'],
    ['gopher://x/', 'scheme gopher:'],
    ['ftp://example.com/', 'scheme ftp:'],
    ['data:application/json,{}', 'scheme data:'],
    ['ws://example.com/', 'scheme ws:'],
    ['https://user:pass@example.com/', 'credentials'],
    ['https://user@example.com/', 'credentials'],
    ['http://example.com/', 'scheme http:'],
    ['https://./', 'empty hostname'],
    ['not a url', 'unparsable'],
  ])('refuses %s (%s)', (input, why) => {
    const r = vetUrl(input, strict);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.reason).toContain(why);
  });

  it('accepts public https URLs and reports the stripped hostname', () => {
    const r = vetUrl('https://Hooks.Example.com.:8443/in?x=1', strict);
    expect(r).toMatchObject({ ok: true, hostname: 'hooks.example.com', literalIp: null });
    expect(r.ok && r.url.port).toBe('8443');
    expect(vetUrl('https://93.184.216.34/', strict)).toMatchObject({ ok: true, literalIp: '93.184.216.34' });
    expect(vetUrl('https://[2606:4700::1]/', strict)).toMatchObject({ ok: true, literalIp: '2606:4700::1' });
  });

  it('lets private targets and plain http through only when private networks are allowed', () => {
    const loose = { allowPrivateNetworks: true };
    expect(vetUrl('http://127.0.0.1:8080/', loose)).toMatchObject({ ok: true, literalIp: '127.0.0.1' });
    expect(vetUrl('http://localhost:3000/', loose)).toMatchObject({ ok: true, hostname: 'localhost' });
    // These stay refused regardless: they are never a legitimate webhook target.
    expect(vetUrl('file:///etc/passwd', loose).ok).toBe(false);
    expect(vetUrl('https://u:p@127.0.0.1/', loose).ok).toBe(false);
  });
});

type Outcome = { err: NodeJS.ErrnoException | null; address: unknown; family: unknown };

function callLookup(lookup: LookupFunction, host: string, options: object): Promise<Outcome> {
  return new Promise((resolve) => {
    lookup(host, options, (err, address, family) => resolve({ err, address, family }));
  });
}

describe('createVettingLookup', () => {
  const resolverOf = (...answers: LookupAddress[][]): Resolver & { calls: number } => {
    const fn = Object.assign(
      async () => {
        const answer = answers[Math.min(fn.calls, answers.length - 1)] ?? [];
        fn.calls += 1;
        return answer.map((a) => ({ address: a.address, family: a.family === 6 ? (6 as const) : (4 as const) }));
      },
      { calls: 0 },
    );
    return fn;
  };

  it('answers both the all:true (happy eyeballs) and single-address call styles', async () => {
    const resolve = resolverOf([
      { address: '93.184.216.34', family: 4 },
      { address: '2606:4700::1', family: 6 },
    ]);
    const lookup = createVettingLookup({ resolve, allowPrivateNetworks: false });
    expect(await callLookup(lookup, 'example.com', { all: true, hints: 32 })).toEqual({
      err: null,
      address: [
        { address: '93.184.216.34', family: 4 },
        { address: '2606:4700::1', family: 6 },
      ],
      family: undefined,
    });
    expect(await callLookup(lookup, 'example.com', { hints: 32 })).toEqual({
      err: null,
      address: '93.184.216.34',
      family: 4,
    });
    expect(await callLookup(lookup, 'example.com', { family: 6 })).toEqual({
      err: null,
      address: '2606:4700::1',
      family: 6,
    });
    const viaShortForm = await new Promise<unknown>((res) => {
      (lookup as unknown as (h: string, cb: (e: unknown, a: unknown) => void) => void)('example.com', (_e, a) =>
        res(a),
      );
    });
    expect(viaShortForm).toBe('93.184.216.34');
  });

  it.each(['127.0.0.1', '10.0.0.5', '169.254.169.254', '::1', '::ffff:127.0.0.1', 'fd00:ec2::254'])(
    'refuses a hostname resolving to %s with a recognizable error that does not name the address',
    async (address) => {
      const resolve = resolverOf([{ address, family: address.includes(':') ? 6 : 4 }]);
      const { err } = await callLookup(createVettingLookup({ resolve, allowPrivateNetworks: false }), 'evil.test', {
        all: true,
      });
      expect(err).toBeInstanceOf(SsrfBlockedError);
      expect(err?.code).toBe('HERALD_SSRF_BLOCKED');
      expect(err?.message).not.toContain(address);
    },
  );

  it('refuses when any answer is private, even if a public one comes first', async () => {
    const resolve = resolverOf([
      { address: '93.184.216.34', family: 4 },
      { address: '127.0.0.1', family: 4 },
    ]);
    const lookup = createVettingLookup({ resolve, allowPrivateNetworks: false });
    expect((await callLookup(lookup, 'mixed.test', { all: true })).err?.code).toBe('HERALD_SSRF_BLOCKED');
    expect((await callLookup(lookup, 'mixed.test', {})).err?.code).toBe('HERALD_SSRF_BLOCKED');
  });

  it('hands over exactly the address it vetted, resolving once per call (DNS rebinding)', async () => {
    const resolve = resolverOf([{ address: '93.184.216.34', family: 4 }], [{ address: '127.0.0.1', family: 4 }]);
    const lookup = createVettingLookup({ resolve, allowPrivateNetworks: false });
    const first = await callLookup(lookup, 'rebind.test', { all: true });
    expect(first.address).toEqual([{ address: '93.184.216.34', family: 4 }]);
    expect(resolve.calls).toBe(1);
    // The rebound answer only matters to a *new* connection, and is vetted afresh there.
    const second = await callLookup(lookup, 'rebind.test', { all: true });
    expect(second.err?.code).toBe('HERALD_SSRF_BLOCKED');
    expect(resolve.calls).toBe(2);
  });

  it('reports DNS failures as DNS errors', async () => {
    const nx = Object.assign(new Error('getaddrinfo ENOTFOUND nx.test'), { code: 'ENOTFOUND' });
    const failing = createVettingLookup({ resolve: () => Promise.reject(nx), allowPrivateNetworks: false });
    expect((await callLookup(failing, 'nx.test', { all: true })).err?.code).toBe('ENOTFOUND');
    const empty = createVettingLookup({ resolve: resolverOf([]), allowPrivateNetworks: false });
    expect((await callLookup(empty, 'nx.test', {})).err?.code).toBe('ENOTFOUND');
    const wrongFamily = createVettingLookup({
      resolve: resolverOf([{ address: '93.184.216.34', family: 4 }]),
      allowPrivateNetworks: false,
    });
    expect((await callLookup(wrongFamily, 'v4only.test', { family: 6 })).err?.code).toBe('ENOTFOUND');
  });

  it('passes private answers through when private networks are allowed', async () => {
    const resolve = vi.fn(async () => [{ address: '127.0.0.1', family: 4 as const }]);
    const lookup = createVettingLookup({ resolve, allowPrivateNetworks: true });
    expect(await callLookup(lookup, 'dev.test', {})).toEqual({ err: null, address: '127.0.0.1', family: 4 });
    expect(resolve).toHaveBeenCalledWith('dev.test');
  });
});
