import { pbkdf2 } from 'node:crypto';
import type { RemoteInfo } from 'node:dgram';
import { createSocket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDnsResolver, parseHostsFile } from '../../src/http/dns-resolver';
import type { ResolvedAddress } from '../../src/http/ssrf';

/**
 * A nameserver on 127.0.0.1 (UDP): `fast.test` has an A record, `hang.test` is never answered,
 * anything else is NXDOMAIN. Enough of RFC 1035 for c-ares' queries.
 */
async function startNameserver() {
  const socket = createSocket('udp4');
  const asked: string[] = [];
  socket.on('message', (query: Buffer, peer: RemoteInfo) => {
    let at = 12;
    const labels: string[] = [];
    while (query[at]! > 0) {
      labels.push(query.subarray(at + 1, at + 1 + query[at]!).toString('ascii'));
      at += query[at]! + 1;
    }
    const questionEnd = at + 5;
    const name = labels.join('.').toLowerCase();
    const type = query.readUInt16BE(at + 1);
    asked.push(name);
    if (name === 'hang.test') return;
    const known = name === 'fast.test';
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // the id
    header.writeUInt16BE(known ? 0x8180 : 0x8183, 2); // a response; NXDOMAIN for unknown names
    header.writeUInt16BE(1, 4); // one question
    const answer = Buffer.alloc(16);
    answer.writeUInt16BE(0xc00c, 0); // the question's name
    answer.writeUInt16BE(1, 2); // A
    answer.writeUInt16BE(1, 4); // IN
    answer.writeUInt32BE(60, 6);
    answer.writeUInt16BE(4, 10);
    Buffer.from([127, 0, 0, 7]).copy(answer, 12);
    const withAnswer = known && type === 1;
    header.writeUInt16BE(withAnswer ? 1 : 0, 6);
    const question = query.subarray(12, questionEnd);
    socket.send(Buffer.concat([header, question, ...(withAnswer ? [answer] : [])]), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { server: `127.0.0.1:${socket.address().port}`, asked, close: () => socket.close() };
}

describe('the dispatcher’s DNS resolver', () => {
  let ns: Awaited<ReturnType<typeof startNameserver>>;
  let hostsFile: string;
  const fallbacks: string[] = [];
  const resolver = () =>
    createDnsResolver({
      servers: [ns.server],
      timeoutMs: 300,
      tries: 1,
      hostsFile,
      fallback: async (hostname): Promise<ResolvedAddress[]> => {
        fallbacks.push(hostname);
        return [{ address: '127.0.0.8', family: 4 }];
      },
    });
  beforeAll(async () => {
    ns = await startNameserver();
    hostsFile = path.join(mkdtempSync(path.join(tmpdir(), 'herald-hosts-')), 'hosts');
    writeFileSync(
      hostsFile,
      '# comment\n127.0.0.9  pinned.test  Alias.Test # trailing\n::1 pinned.test\nnot-an-ip x.test\n',
    );
  });
  afterAll(() => ns.close());

  it('answers from DNS without libuv’s thread pool: it resolves while every pool thread is busy', async () => {
    const order: string[] = [];
    // Four slow hashes hold all four pool threads; getaddrinfo would wait for one of them.
    const hashes = Array.from(
      { length: 4 },
      () =>
        new Promise<void>((resolve) =>
          pbkdf2('x', 'y', 400_000, 32, 'sha512', () => {
            order.push('pool');
            resolve();
          }),
        ),
    );
    const found = await resolver()('fast.test');
    order.push('dns');
    await Promise.all(hashes);
    expect(found).toEqual([{ address: '127.0.0.7', family: 4 }]);
    expect(order[0]).toBe('dns');
  });

  it('one name whose nameserver never answers fails on its own timeout and holds nothing up', async () => {
    const resolve = resolver();
    const hanging = Array.from({ length: 8 }, () =>
      resolve('hang.test').then(
        () => 'answered',
        (e) => e.code,
      ),
    );
    expect(await resolve('fast.test')).toEqual([{ address: '127.0.0.7', family: 4 }]);
    expect(await Promise.race([Promise.all(hanging), 'still waiting'])).toBe('still waiting');
    expect(await Promise.all(hanging)).toEqual(Array(8).fill('ETIMEOUT'));
    expect(fallbacks).not.toContain('hang.test');
  });

  it('drops fallback lookups nobody can wait for any more, and asks once for a name asked at once', async () => {
    const ran: string[] = [];
    const resolve = createDnsResolver({
      servers: [ns.server],
      timeoutMs: 300,
      tries: 1,
      hostsFile,
      fallbackConcurrency: 1,
      fallbackWaitMs: 400,
      fallback: async (hostname) => {
        ran.push(hostname);
        await new Promise((done) => setTimeout(done, 500));
        return [{ address: '127.0.0.8', family: 4 }];
      },
    });
    const started = performance.now();
    // One tenant's names that only getaddrinfo could know, each slow there.
    const noisy = Array.from({ length: 6 }, (_, i) =>
      resolve(`noisy-${i}`).then(
        () => 'answered',
        (e) => e.code,
      ),
    );
    await new Promise((done) => setTimeout(done, 450));
    const other = resolve('other-tenant').then(() => performance.now() - started);
    expect(await Promise.all(noisy)).toEqual(['answered', ...Array(5).fill('ETIMEOUT')]);
    // Its turn came when the one lookup running ended, not after five more that nobody awaited.
    expect(await other).toBeLessThan(1_500);
    expect(ran).toEqual(['noisy-0', 'other-tenant']);
    const same = await Promise.all([resolve('dup'), resolve('dup'), resolve('dup')]);
    expect(same).toEqual(Array(3).fill([{ address: '127.0.0.8', family: 4 }]));
    expect(ran.filter((name) => name === 'dup')).toHaveLength(1);
  });

  it('takes the hosts file first, and asks getaddrinfo only for names DNS says do not exist', async () => {
    const resolve = resolver();
    const asked = ns.asked.length;
    expect(await resolve('PINNED.test.')).toEqual([
      { address: '127.0.0.9', family: 4 },
      { address: '::1', family: 6 },
    ]);
    expect(await resolve('alias.test')).toEqual([{ address: '127.0.0.9', family: 4 }]);
    expect(ns.asked.length).toBe(asked);
    expect(await resolve('203.0.113.5')).toEqual([{ address: '203.0.113.5', family: 4 }]);

    expect(await resolve('internal-service')).toEqual([{ address: '127.0.0.8', family: 4 }]);
    expect(fallbacks).toContain('internal-service');
    expect(ns.asked).toContain('internal-service');
  });

  it('reads a hosts file as getaddrinfo does: comments, aliases, either family, anything else skipped', () => {
    const parsed = parseHostsFile('10.0.0.1 a.test b.test\n#10.0.0.2 c.test\n  fe80::1%eth0 d.test\nbogus e.test\n');
    expect([...parsed.keys()]).toEqual(['a.test', 'b.test', 'd.test']);
    expect(parsed.get('d.test')).toEqual([{ address: 'fe80::1%eth0', family: 6 }]);
  });
});
