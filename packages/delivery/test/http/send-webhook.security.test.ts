import { describe, expect, it } from 'vitest';
import type { ResolvedAddress } from '../../src/http/ssrf';
import type { TestServer } from './helpers';
import { closeAfterEach, ok200, startServer } from './helpers';

// Strict (production) defaults. No test here may send a packet to a non-loopback address:
// every "public" answer below is only ever vetted, never dialled.
const strict = { userAgent: 'Herald-Webhooks/test' } as const;

const { track, sender } = closeAfterEach();

/** A resolver that answers from a script (last answer repeats) and counts how often it is asked. */
function scripted(...answers: ResolvedAddress[][]) {
  const asked: string[] = [];
  const resolve = async (hostname: string) => {
    const answer = answers[Math.min(asked.length, answers.length - 1)] ?? [];
    asked.push(hostname);
    return answer;
  };
  return { resolve, asked };
}

const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });

describe('SSRF: refused targets (allowPrivateNetworks: false)', () => {
  it.each([
    'https://127.1/',
    'https://0/',
    'https://2130706433/',
    'https://0x7f000001/',
    'https://0177.0.0.1/',
    'https://0251.0376.0251.0376/',
    'https://169.254.169.254./',
    'https://localhost./',
    'https://localhost/',
    'https://[::]/',
    'https://[::1]/',
    'https://[::ffff:127.0.0.1]/',
    'https://[64:ff9b::a9fe:a9fe]/',
    'https://[2002:a9fe:a9fe::1]/',
    'https://[fd00:ec2::254]/',
    'https://100.64.0.1/',
    'https://10.0.0.1/',
    'https://172.16.0.1/',
    'https://192.168.1.1/',
    'https://[fe80::1]/',
    'https://224.0.0.1/',
    'file:///etc/passwd',
    'gopher://x/',
    'ftp://example.com/',
    'https://user:pass@example.com/',
    'http://example.com/',
  ])('%s → ssrf_blocked before any lookup or connection', async (url) => {
    const dns = scripted([v4('93.184.216.34')]);
    const result = await sender({ ...strict, resolve: dns.resolve }).send({ url, headers: {}, body: '{}' });
    expect(result).toMatchObject({
      ok: false,
      statusCode: null,
      errorClass: 'ssrf_blocked',
      errorMessage: 'destination refused',
      responseBody: null,
    });
    expect(dns.asked).toEqual([]);
  });

  it('refuses loopback spellings even when something is listening there', async () => {
    const server = await track(startServer(ok200));
    const s = sender(strict);
    const p = server.port;
    for (const url of [
      `https://127.1:${p}/`,
      `https://2130706433:${p}/`,
      `https://0x7f000001:${p}/`,
      `https://0177.0.0.1:${p}/`,
      `https://localhost.:${p}/`,
      `https://[::ffff:127.0.0.1]:${p}/`,
      `http://127.0.0.1:${p}/`,
      `https://127.0.0.1:${p}/`,
    ]) {
      expect((await s.send({ url, headers: {}, body: '{}' })).errorClass, url).toBe('ssrf_blocked');
    }
    expect(server.connections).toBe(0);
  });

  it.each([
    ['127.0.0.1', 4],
    ['10.1.2.3', 4],
    ['169.254.169.254', 4],
    ['100.64.0.1', 4],
    ['::1', 6],
    ['::ffff:127.0.0.1', 6],
    ['fd00:ec2::254', 6],
    ['64:ff9b::a9fe:a9fe', 6],
  ] as const)('refuses a hostname that resolves to %s without revealing the address', async (address, family) => {
    const dns = scripted([{ address, family }]);
    const result = await sender({ ...strict, resolve: dns.resolve }).send({
      url: 'https://hooks.customer.test/',
      headers: {},
      body: '{}',
    });
    expect(result).toMatchObject({
      ok: false,
      statusCode: null,
      errorClass: 'ssrf_blocked',
      errorMessage: 'destination refused',
    });
    expect(dns.asked).toEqual(['hooks.customer.test']);
  });

  it('never connects when the hostname resolves to a loopback server', async () => {
    const server = await track(startServer(ok200));
    const dns = scripted([v4('127.0.0.1')]);
    const result = await sender({ ...strict, resolve: dns.resolve }).send({
      url: `https://internal.test:${server.port}/`,
      headers: {},
      body: '{}',
    });
    expect(result.errorClass).toBe('ssrf_blocked');
    expect(server.connections).toBe(0);
  });

  it('refuses an answer set mixing public and private addresses, in either order', async () => {
    const server = await track(startServer(ok200));
    for (const answer of [
      [v4('93.184.216.34'), v4('127.0.0.1')],
      [v4('127.0.0.1'), v4('93.184.216.34')],
    ]) {
      const dns = scripted(answer);
      const result = await sender({ ...strict, resolve: dns.resolve }).send({
        url: `https://mixed.test:${server.port}/`,
        headers: {},
        body: '{}',
      });
      expect(result.errorClass).toBe('ssrf_blocked');
      expect(dns.asked).toHaveLength(1);
    }
    expect(server.connections).toBe(0);
  });

  it('does not follow a redirect to a private or metadata address', async () => {
    const internal = await track(startServer(ok200));
    for (const location of [`${internal.url}/admin`, 'http://169.254.169.254/latest/meta-data/']) {
      const redirector = await track(startServer((_req, res) => res.writeHead(307, { location }).end()));
      // The redirector itself is loopback, so it needs the opt-in; the Location must still not be followed.
      const result = await sender({ ...strict, allowPrivateNetworks: true }).send({
        url: redirector.url,
        headers: {},
        body: '{}',
      });
      expect(result).toMatchObject({ ok: false, statusCode: 307, errorClass: 'http_status', errorMessage: 'HTTP 307' });
    }
    expect(internal.connections).toBe(0);
  });
});

describe('SSRF: address pinning (DNS rebinding)', () => {
  /** Two loopback servers on the same port, so only the resolved address tells them apart. */
  async function twinServers(): Promise<[TestServer, TestServer]> {
    for (let attempt = 0; ; attempt += 1) {
      const first = await track(startServer(ok200, '127.0.0.2'));
      try {
        return [first, await track(startServer(ok200, '127.0.0.1', first.port))];
      } catch (err) {
        if (attempt >= 5) throw err;
      }
    }
  }

  it('connects to exactly the address the lookup handed over, resolving once per connection', async () => {
    const [vetted, rebound] = await twinServers();
    // First answer is the one checked and pinned; every later answer is the "rebound" one.
    const dns = scripted([v4('127.0.0.2')], [v4('127.0.0.1')]);
    // Loopback needs the opt-in here; strict vetting of the same lookup is in ssrf.test.ts.
    const s = sender({ ...strict, allowPrivateNetworks: true, resolve: dns.resolve });
    const url = `http://rebind.test:${vetted.port}/`;

    expect((await s.send({ url, headers: {}, body: '{}' })).ok).toBe(true);
    expect((await s.send({ url, headers: {}, body: '{}' })).ok).toBe(true);
    expect(dns.asked).toEqual(['rebind.test']);
    expect(vetted.requests).toHaveLength(2);
    expect(rebound.connections).toBe(0);

    // Only a brand-new connection looks the name up again (and would be vetted again).
    vetted.closeIdle();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await s.send({ url, headers: {}, body: '{}' })).ok).toBe(true);
    expect(dns.asked).toEqual(['rebind.test', 'rebind.test']);
    expect(rebound.requests).toHaveLength(1);
  });
});

describe('SSRF: private networks opt-in', () => {
  it('delivers to http://127.0.0.1:<port> when allowPrivateNetworks is true', async () => {
    const server = await track(startServer(ok200));
    const result = await sender({ ...strict, allowPrivateNetworks: true }).send({
      url: `${server.url}/hook`,
      headers: {},
      body: '{}',
    });
    expect(result).toMatchObject({ ok: true, statusCode: 200, errorClass: null });
    expect(server.requests).toHaveLength(1);
  });

  it('delivers to an IPv6 loopback literal when allowPrivateNetworks is true', async () => {
    const server = await track(startServer(ok200, '::1'));
    const result = await sender({ ...strict, allowPrivateNetworks: true }).send({
      url: `${server.url}/v6`,
      headers: {},
      body: '{}',
    });
    expect(result).toMatchObject({ ok: true, statusCode: 200 });
    expect(server.requests[0]?.headers.host).toBe(`[::1]:${server.port}`);
  });

  it('delivers to http://localhost:<port> through the default system resolver', async () => {
    const server = await track(startServer(ok200));
    const result = await sender({ ...strict, allowPrivateNetworks: true }).send({
      url: `http://localhost:${server.port}/`,
      headers: {},
      body: '{}',
    });
    expect(result).toMatchObject({ ok: true, statusCode: 200 });
  });
});
