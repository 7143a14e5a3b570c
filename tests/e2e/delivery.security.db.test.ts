import { describeDb } from '@herald/db/testing';
import type { ResolvedAddress, Resolver } from '@herald/delivery';
import { expect, it } from 'vitest';
import { startHerald } from './harness';

/** A fake DNS that answers from a table and records what it was asked; never touches the network. */
function fakeDns(table: Record<string, ResolvedAddress[] | ((call: number) => ResolvedAddress[])>) {
  const asked: string[] = [];
  const resolve: Resolver = async (hostname) => {
    asked.push(hostname);
    const entry = table[hostname];
    if (!entry) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return typeof entry === 'function' ? entry(asked.filter((h) => h === hostname).length) : entry;
  };
  return { resolve, asked };
}
const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });
const v6 = (address: string): ResolvedAddress => ({ address, family: 6 });

/** Literal destinations from REFERENCE.md that must be refused when the endpoint is created. */
const refusedAtCreation = [
  'https://127.1/',
  'https://0/',
  'https://2130706433/',
  'https://0x7f000001/',
  'https://0177.0.0.1/',
  'https://0251.0376.0251.0376/',
  'https://169.254.169.254./',
  'https://169.254.169.254/latest/meta-data/',
  'https://localhost./',
  'https://localhost/',
  'https://api.localhost/',
  'https://[::]/',
  'https://[::1]/',
  'https://[::ffff:127.0.0.1]/',
  'https://[64:ff9b::a9fe:a9fe]/',
  'https://[2002:a9fe:a9fe::1]/',
  'https://[fd00:ec2::254]/',
  'https://100.64.0.1/',
  'https://10.0.0.1/',
  'https://172.16.5.4/',
  'https://192.168.1.1/',
  'http://hooks.example.com/',
  'file:///etc/passwd',
  'gopher://hooks.example.com/',
  'https://user:pass@hooks.example.com/',
  'https://user@hooks.example.com/',
  'not a url',
];

describeDb('dispatcher end to end: SSRF defences', (t) => {
  it('refuses private, loopback, metadata and otherwise unsafe URLs when an endpoint is created or updated', async () => {
    const h = await startHerald(t, { allowPrivateNetworks: false, start: false });
    const p = await h.project();
    for (const url of refusedAtCreation) {
      const response = await p.request('/v1/endpoints', { json: { url } });
      const body = (await response.json()) as { error: { code: string } };
      expect({ url, status: response.status, code: body.error.code }).toEqual({
        url,
        status: 400,
        code: 'validation_error',
      });
    }
    expect(await p.call('/v1/endpoints', 200, { method: 'GET' })).toMatchObject({ data: [] });

    // A public https URL is accepted (its hostname is vetted again at delivery time) …
    const { endpoint } = await p.createEndpoint({ url: 'https://hooks.example.com/herald' });
    // … and cannot be pointed somewhere private later.
    for (const url of ['https://127.0.0.1/', 'https://[::1]/', 'http://hooks.example.com/']) {
      const response = await p.request(`/v1/endpoints/${endpoint.id}`, { method: 'PATCH', json: { url } });
      expect({ url, status: response.status }).toEqual({ url, status: 400 });
    }
    expect(await p.call(`/v1/endpoints/${endpoint.id}`, 200)).toMatchObject({
      url: 'https://hooks.example.com/herald',
    });
    // A URL that parsers read differently is stored as the dispatcher reads it: every tool shows the
    // host that is actually contacted. One already in that form keeps its spelling.
    const oddlyWritten: [string, string][] = [
      ['https:/\\hooks.example.com/a', 'https://hooks.example.com/a'],
      ['https://HOOKS.example.com:443/./b/../c', 'https://hooks.example.com/c'],
      ['https://hooks.example.com', 'https://hooks.example.com'],
    ];
    for (const [url, stored] of oddlyWritten) {
      expect((await p.createEndpoint({ url })).endpoint.url, url).toBe(stored);
      const patched = await p.call(`/v1/endpoints/${endpoint.id}`, 200, { method: 'PATCH', json: { url } });
      expect(patched.url, url).toBe(stored);
    }
    // Custom headers may not impersonate Herald's own or smuggle a second header.
    for (const headers of [
      { 'webhook-signature': 'v1,forged' },
      { 'Webhook-Id': 'msg_forged' },
      { Host: 'internal.example' },
      { 'Content-Length': '0' },
      { 'X-Ok': 'a\r\nInjected: 1' },
      { 'Bad Name': 'x' },
    ]) {
      const response = await p.request('/v1/endpoints', { json: { url: 'https://hooks.example.com/h', headers } });
      expect({ headers, status: response.status }).toEqual({ headers, status: 400 });
    }
  });

  it('blocks, at delivery time, hostnames that resolve to private addresses (attempt errorClass ssrf_blocked)', async () => {
    const dns = fakeDns({
      'loopback.example.com': [v4('127.0.0.1')],
      'rfc1918.example.com': [v4('10.1.2.3')],
      'metadata.example.com': [v4('169.254.169.254')],
      'cgnat.example.com': [v4('100.64.0.1')],
      'v6-loopback.example.com': [v6('::1')],
      'v4-mapped.example.com': [v6('::ffff:127.0.0.1')],
      'nat64.example.com': [v6('64:ff9b::a9fe:a9fe')],
      'ula.example.com': [v6('fd00:ec2::254')],
    });
    const h = await startHerald(t, {
      allowPrivateNetworks: false,
      resolve: dns.resolve,
      dispatcher: { retryPolicy: { delaysMs: [], jitter: 0, minRetryAfterMs: 0, maxRetryAfterMs: 0 } },
    });
    const receiver = await h.receiver();
    const p = await h.project();
    const names = [
      'loopback.example.com',
      'rfc1918.example.com',
      'metadata.example.com',
      'cgnat.example.com',
      'v6-loopback.example.com',
      'v4-mapped.example.com',
      'nat64.example.com',
      'ula.example.com',
    ];
    const endpointIds = new Map<string, string>();
    for (const name of names) {
      // The receiver's port, so a connection that got through would be seen.
      const { endpoint } = await p.createEndpoint({ url: `https://${name}:${receiver.port}/hook` });
      endpointIds.set(endpoint.id, name);
    }
    await p.createUser();
    const rows = await p.settled({ expected: names.length });
    for (const row of rows) {
      const [attempt] = (await p.delivery(row.id)).attempts;
      expect({
        host: endpointIds.get(row.endpointId),
        status: row.status,
        errorClass: attempt?.errorClass,
        statusCode: attempt?.statusCode,
      }).toEqual({
        host: endpointIds.get(row.endpointId),
        status: 'failed',
        errorClass: 'ssrf_blocked',
        statusCode: null,
      });
      // One message for every refusal: the reason (loopback, metadata, …) is the operator's to see.
      expect(attempt!.errorMessage).toBe('destination refused');
    }
    expect(new Set(dns.asked)).toEqual(new Set(names));
    expect(receiver.connections).toBe(0);
    expect(receiver.requests).toHaveLength(0);
  });

  it('defeats DNS rebinding: an answer that mixes a public and a loopback address never reaches the local receiver', async () => {
    // A public address first, then the loopback one: if the sender trusted the first
    // answer and connected to the second, the receiver would see the request.
    const dns = fakeDns({ 'rebind.example.com': [v4('93.184.216.34'), v4('127.0.0.1')] });
    const h = await startHerald(t, {
      allowPrivateNetworks: false,
      resolve: dns.resolve,
      dispatcher: { retryPolicy: { delaysMs: [50, 50], jitter: 0, minRetryAfterMs: 0, maxRetryAfterMs: 0 } },
    });
    const receiver = await h.receiver();
    const p = await h.project();
    await p.createEndpoint({ url: `https://rebind.example.com:${receiver.port}/` });
    await p.createUser();
    const [row] = await p.settled({ expected: 1 });
    expect(row).toMatchObject({ status: 'failed', attemptCount: 3 });
    const attempts = (await p.delivery(row!.id)).attempts;
    expect(attempts.map((a) => a.errorClass)).toEqual(['ssrf_blocked', 'ssrf_blocked', 'ssrf_blocked']);
    // Looked up afresh for each attempt, and refused each time.
    expect(dns.asked).toEqual(['rebind.example.com', 'rebind.example.com', 'rebind.example.com']);
    expect(receiver.connections).toBe(0);
  });

  it('defeats DNS rebinding across attempts: a name that turns private on a later lookup is blocked then', async () => {
    // Every lookup answers loopback except the first, which fails outright: the
    // dispatcher must look the name up again for the retry, and vet that answer too.
    // (A first answer that is really public is not used: traffic may only go to loopback here.)
    const dns = fakeDns({
      'flip.example.com': (call) => {
        if (call === 1) throw Object.assign(new Error('getaddrinfo EAI_AGAIN flip.example.com'), { code: 'EAI_AGAIN' });
        return [v4('127.0.0.1')];
      },
    });
    const h = await startHerald(t, {
      allowPrivateNetworks: false,
      resolve: dns.resolve,
      dispatcher: { retryPolicy: { delaysMs: [50], jitter: 0, minRetryAfterMs: 0, maxRetryAfterMs: 0 } },
    });
    const receiver = await h.receiver();
    const p = await h.project();
    await p.createEndpoint({ url: `https://flip.example.com:${receiver.port}/` });
    await p.createUser();
    const [row] = await p.settled({ expected: 1 });
    const attempts = (await p.delivery(row!.id)).attempts;
    // The failed lookup and the private answer look alike: neither tells the tenant which it was.
    expect(attempts.map((a) => [a.errorClass, a.errorMessage])).toEqual([
      ['ssrf_blocked', 'destination refused'],
      ['ssrf_blocked', 'destination refused'],
    ]);
    expect(receiver.connections).toBe(0);
  });

  it("does not reveal the dispatcher's network: an internal name and an unknown name fail alike", async () => {
    const dns = fakeDns({ vm: [v4('127.0.0.1')], 'db.internal': [v4('10.0.0.7')] });
    const h = await startHerald(t, {
      allowPrivateNetworks: false,
      resolve: dns.resolve,
      dispatcher: { retryPolicy: { delaysMs: [], jitter: 0, minRetryAfterMs: 0, maxRetryAfterMs: 0 } },
    });
    const p = await h.project();
    const urls = ['https://vm/', 'https://db.internal/', 'https://no-such-host.internal/'];
    for (const url of urls) await p.createEndpoint({ url });
    await p.createUser();
    const rows = await p.settled({ expected: urls.length });
    const seen = await Promise.all(
      rows.map(async (row) => {
        const { attempts, lastError, lastStatusCode, status } = await p.delivery(row.id);
        return {
          status,
          lastError,
          lastStatusCode,
          // Everything the tenant reads about an attempt except its id and timing.
          attempts: attempts.map(({ attemptNumber, statusCode, errorClass, errorMessage, responseBody }) => ({
            attemptNumber,
            statusCode,
            errorClass,
            errorMessage,
            responseBody,
          })),
        };
      }),
    );
    expect(seen[0]).toEqual({
      status: 'failed',
      lastError: 'ssrf_blocked: destination refused',
      lastStatusCode: null,
      attempts: [
        {
          attemptNumber: 1,
          statusCode: null,
          errorClass: 'ssrf_blocked',
          errorMessage: 'destination refused',
          responseBody: null,
        },
      ],
    });
    for (const other of seen) expect(other).toEqual(seen[0]);
    expect(new Set(dns.asked)).toEqual(new Set(['vm', 'db.internal', 'no-such-host.internal']));
  });

  it('with private networks allowed, a hostname is delivered to the address the resolver gave, looked up once', async () => {
    const dns = fakeDns({ 'hooks.internal.test': [v4('127.0.0.1')] });
    const h = await startHerald(t, { resolve: dns.resolve });
    const receiver = await h.receiver();
    const p = await h.project();
    await p.createEndpoint({ url: `http://hooks.internal.test:${receiver.port}/in` });
    await p.createUser();
    await p.settled({ expected: 1 });
    const [req] = await receiver.waitForRequests(1);
    expect(req!.headers.host).toBe(`hooks.internal.test:${receiver.port}`);
    expect(dns.asked).toEqual(['hooks.internal.test']);
  });
});
