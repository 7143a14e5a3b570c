import type { LookupAddress } from 'node:dns';
import { promises as dnsPromises } from 'node:dns';
import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ResolvedAddress, Resolver } from './ssrf';

/**
 * The dispatcher's DNS, isolated per tenant. `dns.lookup` (getaddrinfo) blocks one of libuv's four
 * pool threads for as long as a lookup takes: a tenant whose endpoints' nameserver never answers
 * held all four with eight lookups, and every other tenant's new connections (and the process's
 * file work) waited behind them, until their own requests timed out (review, 2026-12-05).
 *
 * So names are resolved as getaddrinfo would, without the pool where it matters:
 * 1. the hosts file (read on the event loop, again when it changes): `/etc/hosts` and Kubernetes'
 *    `hostAliases` still win over DNS;
 * 2. DNS through c-ares (`dns.Resolver`: queries on the event loop, bounded by `timeoutMs` per try);
 * 3. a name DNS says does not exist (a single label, a cluster-internal name found through the
 *    search domains, mDNS) goes to getaddrinfo after all, at most `fallbackConcurrency` at once:
 *    the pool keeps threads for everything else.
 */
export interface DnsResolverOptions {
  /** Nameservers (`host[:port]`); the system's (resolv.conf) by default. */
  servers?: string[];
  /** Per try, per nameserver. */
  timeoutMs?: number;
  tries?: number;
  hostsFile?: string;
  /** getaddrinfo, for names DNS does not know (tests replace it). */
  fallback?: (hostname: string) => Promise<ResolvedAddress[]>;
  fallbackConcurrency?: number;
  /**
   * How long a name may wait for a fallback turn (default 5 s), and how many may wait (default 64):
   * past either it fails with ETIMEOUT. A send gives up on its lookup after its own timeout; a turn
   * kept for it would only delay the names queued behind it (another tenant's, say).
   */
  fallbackWaitMs?: number;
  fallbackMaxWaiting?: number;
}

/**
 * Answers after which getaddrinfo may still find the name, and quickly: DNS says it does not exist,
 * or no nameserver listens (getaddrinfo may ask another way). Not a timeout: that would wait again.
 */
const NOT_IN_DNS = new Set(['ENOTFOUND', 'ENODATA', 'ENONAME', 'EBADNAME', 'ECONNREFUSED']);

export function createDnsResolver(options: DnsResolverOptions = {}): Resolver {
  const resolver = new dnsPromises.Resolver({ timeout: options.timeoutMs ?? 2_000, tries: options.tries ?? 2 });
  if (options.servers) resolver.setServers(options.servers);
  const hosts = hostsFileReader(options.hostsFile ?? '/etc/hosts');
  const fallback = sharedByName(
    limited(options.fallback ?? getaddrinfo, {
      max: options.fallbackConcurrency ?? 2,
      maxWaitMs: options.fallbackWaitMs ?? 5_000,
      maxWaiting: options.fallbackMaxWaiting ?? 64,
    }),
  );

  return async (hostname) => {
    const family = isIP(hostname);
    if (family !== 0) return [{ address: hostname, family: family === 6 ? 6 : 4 }];
    const name = hostname.toLowerCase().replace(/\.$/, '');
    const pinned = hosts().get(name);
    if (pinned) return pinned;
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
    const found: ResolvedAddress[] = [
      ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 as const })) : []),
      ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 as const })) : []),
    ];
    if (found.length > 0) return found;
    const failures = [v4, v6].flatMap((r) => (r.status === 'rejected' ? [r.reason as NodeJS.ErrnoException] : []));
    if (failures.length > 0 && failures.every((e) => NOT_IN_DNS.has(e.code ?? ''))) return fallback(hostname);
    // A timeout or a failing nameserver: reported as such, never handed to getaddrinfo to wait on again.
    throw failures.find((e) => !NOT_IN_DNS.has(e.code ?? '')) ?? failures[0] ?? dnsError(hostname, 'ENOTFOUND');
  };
}

async function getaddrinfo(hostname: string): Promise<ResolvedAddress[]> {
  const found: LookupAddress[] = await dnsPromises.lookup(hostname, { all: true });
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
}

/** A failed lookup as net and undici report one: a message and a `code` (ENOTFOUND, ETIMEOUT, …). */
export function dnsError(hostname: string, code: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`DNS lookup failed for ${hostname} (${code})`);
  err.code = code;
  return err;
}

/** One lookup per name at a time: the callers asking for a name while it is looked up share its answer. */
function sharedByName(fn: (hostname: string) => Promise<ResolvedAddress[]>) {
  const running = new Map<string, Promise<ResolvedAddress[]>>();
  return (hostname: string): Promise<ResolvedAddress[]> => {
    const shared = running.get(hostname);
    if (shared) return shared;
    const lookup = fn(hostname).finally(() => running.delete(hostname));
    running.set(hostname, lookup);
    return lookup;
  };
}

/**
 * `fn` with at most `max` calls running; the rest wait their turn in order, at most `maxWaiting`
 * of them and each at most `maxWaitMs` (then ETIMEOUT, and the turn goes to the next).
 */
function limited(
  fn: (hostname: string) => Promise<ResolvedAddress[]>,
  limits: { max: number; maxWaitMs: number; maxWaiting: number },
): (hostname: string) => Promise<ResolvedAddress[]> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (hostname) => {
    if (running >= limits.max) {
      if (waiting.length >= limits.maxWaiting) throw dnsError(hostname, 'ETIMEOUT');
      await new Promise<void>((resolve, reject) => {
        const turn = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(turn), 1);
          reject(dnsError(hostname, 'ETIMEOUT'));
        }, limits.maxWaitMs);
        waiting.push(turn);
      });
    } else running += 1;
    try {
      return await fn(hostname);
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running -= 1;
    }
  };
}

/** How often the hosts file's modification time is checked (a `stat` on the event loop). */
const HOSTS_CHECK_MS = 5_000;

/** The hosts file's names and their addresses, read again once it changed; empty when unreadable. */
function hostsFileReader(path: string): () => Map<string, ResolvedAddress[]> {
  let entries = new Map<string, ResolvedAddress[]>();
  let mtimeMs = -1;
  let checkedAt = -Infinity;
  return () => {
    const now = performance.now();
    if (now - checkedAt < HOSTS_CHECK_MS) return entries;
    checkedAt = now;
    try {
      const stat = statSync(path);
      if (stat.mtimeMs !== mtimeMs) {
        entries = parseHostsFile(readFileSync(path, 'utf8'));
        mtimeMs = stat.mtimeMs;
      }
    } catch {
      entries = new Map();
      mtimeMs = -1;
    }
    return entries;
  };
}

export function parseHostsFile(text: string): Map<string, ResolvedAddress[]> {
  const entries = new Map<string, ResolvedAddress[]>();
  for (const line of text.split('\n')) {
    const [address, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
    const family = address ? isIP(address.replace(/%.*/, '')) : 0;
    if (!address || family === 0) continue;
    for (const name of names) {
      const key = name.toLowerCase().replace(/\.$/, '');
      const list = entries.get(key) ?? [];
      if (!list.some((a) => a.address === address)) list.push({ address, family: family === 6 ? 6 : 4 });
      entries.set(key, list);
    }
  }
  return entries;
}
