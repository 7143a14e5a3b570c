import type { LookupAddress, LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { isIPv4, isIPv6 } from 'node:net';
import { createDnsResolver, dnsError } from './dns-resolver';

export type IpClassification = { allowed: true } | { allowed: false; reason: string };

export type ResolvedAddress = { address: string; family: 4 | 6 };
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export type VetUrlResult =
  | { ok: true; url: URL; hostname: string; literalIp: string | null }
  | { ok: false; reason: string };

export const SSRF_BLOCKED_CODE = 'HERALD_SSRF_BLOCKED';

/** Raised by the vetting lookup; the code survives net/tls/undici so the sender can classify it. */
export class SsrfBlockedError extends Error {
  readonly code = SSRF_BLOCKED_CODE;
  constructor(readonly reason: string) {
    super(`destination refused: ${reason}`);
    this.name = 'SsrfBlockedError';
  }
}

type V4Rule = readonly [base: string, prefix: number, reason: string];

// Order matters: the first match supplies the reason, so specific ranges precede their supersets.
const V4_RULES: readonly V4Rule[] = [
  ['0.0.0.0', 8, 'unspecified address'],
  ['10.0.0.0', 8, 'private network (RFC 1918)'],
  ['100.64.0.0', 10, 'carrier-grade NAT (RFC 6598)'],
  ['127.0.0.0', 8, 'loopback address'],
  ['169.254.169.254', 32, 'cloud metadata endpoint'],
  ['169.254.0.0', 16, 'link-local address'],
  ['172.16.0.0', 12, 'private network (RFC 1918)'],
  ['192.0.0.0', 24, 'IETF protocol assignment'],
  ['192.0.2.0', 24, 'documentation range'],
  ['192.88.99.0', 24, '6to4 relay anycast'],
  ['192.168.0.0', 16, 'private network (RFC 1918)'],
  ['198.18.0.0', 15, 'benchmarking range'],
  ['198.51.100.0', 24, 'documentation range'],
  ['203.0.113.0', 24, 'documentation range'],
  ['224.0.0.0', 4, 'multicast address'],
  ['240.0.0.0', 4, 'reserved or broadcast address'],
];

function v4ToInt(ip: string): number {
  const [a = 0, b = 0, c = 0, d = 0] = ip.split('.').map(Number);
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

const V4_MASKS = V4_RULES.map(([base, prefix, reason]) => {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { net: (v4ToInt(base) & mask) >>> 0, mask, reason };
});

function classifyV4(ip: string): IpClassification {
  const n = v4ToInt(ip);
  for (const rule of V4_MASKS) {
    if ((n & rule.mask) >>> 0 === rule.net) return { allowed: false, reason: rule.reason };
  }
  return { allowed: true };
}

/** Expands a valid IPv6 literal (net.isIPv6 already passed) into its eight 16-bit groups. */
function v6ToWords(ip: string): number[] {
  let text = ip;
  const tail: number[] = [];
  if (text.includes('.')) {
    const colon = text.lastIndexOf(':');
    const n = v4ToInt(text.slice(colon + 1));
    tail.push(n >>> 16, n & 0xffff);
    text = text.slice(0, colon + 1);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const halves = text.split('::');
  const parse = (s: string | undefined) => (s ? s.split(':').map((h) => parseInt(h, 16)) : []);
  const left = parse(halves[0]);
  const right = parse(halves[1]);
  const fill = halves.length > 1 ? 8 - tail.length - left.length - right.length : 0;
  return [...left, ...new Array<number>(fill).fill(0), ...right, ...tail];
}

function wordsToV4(hi: number, lo: number): string {
  return [hi >>> 8, hi & 0xff, lo >>> 8, lo & 0xff].join('.');
}

function embedded(reason: string, hi: number, lo: number): IpClassification {
  const inner = classifyV4(wordsToV4(hi, lo));
  return inner.allowed ? inner : { allowed: false, reason: `${reason} embedding ${inner.reason}` };
}

function classifyV6(ip: string): IpClassification {
  const w = v6ToWords(ip.toLowerCase());
  const at = (i: number) => w[i] ?? 0;
  const zeroUpTo = (n: number) => w.slice(0, n).every((x) => x === 0);

  if (zeroUpTo(8)) return { allowed: false, reason: 'unspecified address' };
  if (zeroUpTo(7) && at(7) === 1) return { allowed: false, reason: 'loopback address' };
  // An attacker can wrap any IPv4 target in these forms; the OS or a translator unwraps it.
  if (zeroUpTo(5) && at(5) === 0xffff) return embedded('IPv4-mapped address', at(6), at(7));
  if (zeroUpTo(6)) return embedded('IPv4-compatible address', at(6), at(7));
  if (zeroUpTo(4) && at(4) === 0xffff && at(5) === 0) return embedded('IPv4-translated address', at(6), at(7));
  if (at(0) === 0x64 && at(1) === 0xff9b && w.slice(2, 6).every((x) => x === 0)) {
    return embedded('NAT64 address', at(6), at(7));
  }
  // Local-use NAT64 (RFC 8215) places the IPv4 at an operator-chosen offset; it only ever
  // translates inside the operator's own network, so nothing public lives there.
  if (at(0) === 0x64 && at(1) === 0xff9b && at(2) === 1) return { allowed: false, reason: 'local-use NAT64 prefix' };
  if (at(0) === 0x2002) return embedded('6to4 address', at(1), at(2));
  // Teredo obfuscates the client IPv4 and tunnels through a relay: not worth trusting.
  if (at(0) === 0x2001 && at(1) === 0) return { allowed: false, reason: 'Teredo tunnel address' };
  if (at(0) === 0xfd00 && at(1) === 0x0ec2 && w.slice(2, 7).every((x) => x === 0) && at(7) === 0x254) {
    return { allowed: false, reason: 'cloud metadata endpoint' };
  }
  if ((at(0) & 0xfe00) === 0xfc00) return { allowed: false, reason: 'unique-local address' };
  if ((at(0) & 0xffc0) === 0xfe80) return { allowed: false, reason: 'link-local address' };
  if ((at(0) & 0xffc0) === 0xfec0) return { allowed: false, reason: 'site-local address' };
  if ((at(0) & 0xff00) === 0xff00) return { allowed: false, reason: 'multicast address' };
  if (at(0) === 0x2001 && at(1) === 0x0db8) return { allowed: false, reason: 'documentation range' };
  if (at(0) === 0x3fff && at(1) < 0x1000) return { allowed: false, reason: 'documentation range' };
  // 2001::/23 is IETF protocol assignments (benchmarking, ORCHID, ...), none of it a webhook host.
  if (at(0) === 0x2001 && at(1) < 0x0200) return { allowed: false, reason: 'IETF protocol assignment' };
  // Everything outside global unicast 2000::/3 is reserved or special-purpose (e.g. discard 100::/64).
  if ((at(0) & 0xe000) !== 0x2000) return { allowed: false, reason: 'reserved address (outside 2000::/3)' };
  return { allowed: true };
}

export function classifyIp(ip: string): IpClassification {
  if (isIPv4(ip)) return classifyV4(ip);
  if (isIPv6(ip)) return classifyV6(ip);
  return { allowed: false, reason: 'not an IP address' };
}

export function vetUrl(input: string, opts: { allowPrivateNetworks: boolean }): VetUrlResult {
  let url: URL;
  try {
    // WHATWG parsing canonicalizes 127.1, 0x7f000001, octal, %-encoded and full-width digits
    // into dotted quads, so the literal check below sees what the socket would see.
    url = new URL(input);
  } catch {
    return { ok: false, reason: 'unparsable URL' };
  }
  const allow = opts.allowPrivateNetworks;
  if (url.protocol !== 'https:' && !(allow && url.protocol === 'http:')) {
    return { ok: false, reason: `scheme ${url.protocol} not allowed` };
  }
  if (url.username !== '' || url.password !== '') {
    return { ok: false, reason: 'credentials in URL not allowed' };
  }
  const raw = url.hostname.toLowerCase();
  const bracketed = raw.startsWith('[') && raw.endsWith(']');
  const hostname = bracketed ? raw.slice(1, -1) : raw.replace(/\.+$/, '');
  if (hostname === '') return { ok: false, reason: 'empty hostname' };
  const literalIp = bracketed || isIPv4(hostname) ? hostname : null;
  if (!allow) {
    if (literalIp !== null) {
      const verdict = classifyIp(literalIp);
      if (!verdict.allowed) return { ok: false, reason: verdict.reason };
    } else if (hostname === 'localhost' || hostname.endsWith('.localhost')) {
      // RFC 6761: resolvers may answer these with loopback without consulting DNS.
      return { ok: false, reason: 'localhost name' };
    }
  }
  return { ok: true, url, hostname, literalIp };
}

/**
 * A dns.lookup replacement for undici's `connect.lookup`. net/tls connect to exactly the
 * addresses handed to the callback, so vetting here (rather than in a pre-flight lookup)
 * leaves no window for DNS rebinding between check and connect.
 */
export function createVettingLookup(opts: { resolve?: Resolver; allowPrivateNetworks: boolean }): LookupFunction {
  // Not getaddrinfo on libuv's pool: one tenant's unanswered DNS held every thread (dns-resolver.ts).
  const resolve = opts.resolve ?? createDnsResolver();
  const vet = async (hostname: string, family: number): Promise<ResolvedAddress[]> => {
    const found = await resolve(hostname);
    const usable = found.filter((a) => family === 0 || a.family === family);
    if (usable.length === 0) throw dnsError(hostname, 'ENOTFOUND');
    if (!opts.allowPrivateNetworks) {
      // Refusing when ANY answer is private stops "public, private" answer sets from
      // winning on a retry or on happy-eyeballs fallback.
      for (const a of found) {
        const verdict = classifyIp(a.address);
        if (!verdict.allowed) throw new SsrfBlockedError(verdict.reason);
      }
    }
    return usable;
  };

  return ((hostname: string, options: LookupOptions | number | undefined, callback: unknown) => {
    // dns.lookup's optional-options overload: (hostname, callback).
    const cb = (typeof options === 'function' ? options : callback) as (
      err: NodeJS.ErrnoException | null,
      address?: string | LookupAddress[],
      family?: number,
    ) => void;
    const o: LookupOptions = typeof options === 'object' && options !== null ? options : {};
    const rawFamily = typeof options === 'number' ? options : o.family;
    const family = rawFamily === 4 || rawFamily === 'IPv4' ? 4 : rawFamily === 6 || rawFamily === 'IPv6' ? 6 : 0;
    let pending: Promise<ResolvedAddress[]>;
    try {
      pending = vet(hostname, family);
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (addresses) => {
        if (o.all === true) cb(null, addresses);
        else {
          const first = addresses[0] as ResolvedAddress;
          cb(null, first.address, first.family);
        }
      },
      // A resolver failure without an error code (a custom resolver's plain Error) is still a
      // failed lookup, so it is reported, and refused, like one.
      (err: unknown) =>
        cb(
          err instanceof Error && typeof (err as { code?: unknown }).code === 'string'
            ? err
            : dnsError(hostname, 'EAI_FAIL'),
        ),
    );
  }) as LookupFunction;
}
