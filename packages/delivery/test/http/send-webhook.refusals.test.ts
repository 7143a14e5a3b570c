import { describe, expect, it } from 'vitest';
import type { AttemptResult, DestinationRefusal } from '../../src/http/send-webhook';
import type { ResolvedAddress, Resolver } from '../../src/http/ssrf';
import { closeAfterEach, freePort, ok200, startServer } from './helpers';

// Strict (production) settings; every "public" answer below is vetted, never dialled.
const strict = { userAgent: 'Herald-Webhooks/test' } as const;
const { track, sender } = closeAfterEach();

const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });
const dnsFailure = (code: string) => Object.assign(new Error(`getaddrinfo ${code}`), { code });

/** The dispatcher's DNS: internal names resolve to private addresses, unknown ones fail. */
const internalDns: Resolver = async (hostname) => {
  const table: Record<string, ResolvedAddress[]> = {
    'vm.test': [v4('127.0.0.1')],
    'db.corp.test': [v4('10.0.0.5')],
    'metadata.test': [v4('169.254.169.254')],
    'v6.test': [{ address: '::1', family: 6 }],
    'mixed.test': [v4('93.184.216.34'), v4('192.168.1.1')],
    'empty.test': [],
  };
  if (hostname === 'flaky.test') throw dnsFailure('EAI_AGAIN');
  if (hostname === 'broken.test') throw new Error('resolver exploded');
  const answer = table[hostname];
  if (!answer) throw dnsFailure('ENOTFOUND');
  return answer;
};

/** What the tenant sees of an attempt: everything recorded except the timing. */
const tenantView = ({ durationMs: _, ...rest }: AttemptResult) => rest;

const REFUSED = {
  ok: false,
  statusCode: null,
  errorClass: 'ssrf_blocked',
  errorMessage: 'destination refused',
  responseBody: null,
  retryAfterSeconds: null,
};

describe('refused and unresolvable destinations look the same to the tenant', () => {
  const cases: [url: string, reason: RegExp][] = [
    ['https://vm.test/', /^loopback address$/],
    ['https://db.corp.test/', /^private network/],
    ['https://metadata.test/', /^cloud metadata endpoint$/],
    ['https://v6.test/', /^loopback address$/],
    ['https://mixed.test/', /^private network/],
    ['https://unknown.test/', /^DNS lookup failed \(ENOTFOUND\)$/],
    ['https://flaky.test/', /^DNS lookup failed \(EAI_AGAIN\)$/],
    ['https://empty.test/', /^DNS lookup failed \(ENOTFOUND\)$/],
    ['https://broken.test/', /^DNS lookup failed \(EAI_FAIL\)$/],
    ['https://127.0.0.1/', /^loopback address$/],
    ['https://[::1]/', /^loopback address$/],
    ['https://localhost/', /^localhost name$/],
    ['https://10.0.0.1/', /^private network/],
    ['http://hooks.example.com/', /^scheme http: not allowed$/],
    ['https://user:pass@hooks.example.com/', /^credentials in URL not allowed$/],
  ];

  it('answers one error class and message for each, and tells the operator hook the reason', async () => {
    const refusals: DestinationRefusal[] = [];
    const s = sender({ ...strict, resolve: internalDns, onRefused: (r) => refusals.push(r) });
    for (const [url, reason] of cases) {
      const context = { deliveryId: `dlv_${url}` };
      const result = await s.send({ url, headers: {}, body: '{}', context });
      expect({ url, ...tenantView(result) }).toEqual({ url, ...REFUSED });
      expect(refusals.at(-1), url).toEqual({ reason: expect.stringMatching(reason), url, context });
    }
    expect(refusals).toHaveLength(cases.length);
  });

  it('keeps the same answer without an operator hook, and when the hook throws', async () => {
    const quiet = sender({ ...strict, resolve: internalDns });
    const throwing = sender({
      ...strict,
      resolve: internalDns,
      onRefused: () => {
        throw new Error('logger down');
      },
    });
    for (const s of [quiet, throwing]) {
      for (const url of ['https://vm.test/', 'https://unknown.test/', 'https://127.0.0.1/']) {
        expect(tenantView(await s.send({ url, headers: {}, body: '{}' })), url).toEqual(REFUSED);
      }
    }
  });

  it('calls the hook for refusals only, not for failures of a destination that was allowed', async () => {
    const refusals: DestinationRefusal[] = [];
    const s = sender({ ...strict, allowPrivateNetworks: true, onRefused: (r) => refusals.push(r) });
    const failing = await track(startServer((_req, res) => res.writeHead(500).end()));
    const ok = await track(startServer(ok200));
    expect((await s.send({ url: failing.url, headers: {}, body: '{}' })).errorClass).toBe('http_status');
    expect((await s.send({ url: ok.url, headers: {}, body: '{}' })).ok).toBe(true);
    const closed = await freePort();
    expect((await s.send({ url: `http://127.0.0.1:${closed}/`, headers: {}, body: '{}' })).errorClass).toBe(
      'connection',
    );
    expect((await s.send({ url: 'not a url', headers: {}, body: '{}' })).errorClass).toBe('invalid_url');
    expect(refusals).toEqual([]);
  });
});
