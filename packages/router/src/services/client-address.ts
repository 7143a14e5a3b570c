import { BlockList, isIP } from 'node:net';

/**
 * Which client a request came from when Herald runs behind proxies (`HERALD_TRUSTED_PROXIES`).
 * Budgets without an API key or portal session (keyless requests, made-up keys, operator sign-in)
 * are per client address; behind a load balancer every socket peer is the balancer, so one
 * client's knocking would spend everyone's budget.
 *
 * The rule is the one Express and nginx's `real_ip_recursive` use: when the socket peer is a
 * trusted proxy, walk `X-Forwarded-For` from the right (the entries trusted proxies appended) and
 * take the first address that is not a trusted proxy. Entries further left were written by the
 * client itself and are never believed.
 */
export interface TrustedProxies {
  has(address: string): boolean;
}

/** Shorthands for the usual deployments. */
const NAMED_RANGES: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7', '127.0.0.0/8', '::1/128'],
};

/** The most `X-Forwarded-For` entries looked at: a chain of proxies is short; the header may not be. */
const MAX_HOPS = 32;

/**
 * Parses `HERALD_TRUSTED_PROXIES`: addresses, CIDR ranges, `loopback` or `private`, separated by
 * commas. Throws an `Error` naming the first entry that is none of these.
 */
export function parseTrustedProxies(text: string): string[] {
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  for (const entry of entries) addEntry(new BlockList(), entry);
  return entries;
}

/** A matcher for parsed `HERALD_TRUSTED_PROXIES` entries. */
export function trustedProxies(entries: readonly string[]): TrustedProxies {
  const list = new BlockList();
  for (const entry of entries) addEntry(list, entry);
  return {
    has(address) {
      const plain = plainAddress(address);
      if (plain === undefined) return false;
      return list.check(plain, isIP(plain) === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

/**
 * The client's address: `peer` itself unless it is a trusted proxy, else the rightmost
 * `X-Forwarded-For` entry that is not one. An entry that is not an address stops the walk at the
 * last proxy that vouched for the chain (only a trusted proxy's own client could have put it there).
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | null,
  trusted: TrustedProxies,
): string | undefined {
  if (peer === undefined || !forwardedFor || !trusted.has(peer)) return peer;
  const hops = forwardedFor.split(',');
  let client = peer;
  for (let i = hops.length - 1; i >= 0 && hops.length - i <= MAX_HOPS; i--) {
    const hop = plainAddress(hops[i]!.trim());
    if (hop === undefined) break;
    client = hop;
    if (!trusted.has(hop)) break;
  }
  return client;
}

/**
 * The address in an `X-Forwarded-For` entry or a socket peer, without a port, brackets or
 * zone, IPv4-mapped IPv6 as IPv4 (`::ffff:10.0.0.1` is how Node shows an IPv4 peer on a dual-stack
 * socket); undefined when it is not an address.
 */
function plainAddress(text: string): string | undefined {
  let address = text;
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(address);
  if (bracketed) address = bracketed[1]!;
  else if (/^\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}$/.test(address)) address = address.slice(0, address.lastIndexOf(':'));
  address = address.replace(/%[^%]*$/, '');
  const version = isIP(address);
  if (version === 0) return undefined;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped ? mapped[1] : address;
}

function addEntry(list: BlockList, entry: string): void {
  const named = NAMED_RANGES[entry.toLowerCase()];
  if (named) {
    for (const range of named) addEntry(list, range);
    return;
  }
  const [address = '', prefixText, ...rest] = entry.split('/');
  const version = isIP(address);
  const maxPrefix = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? maxPrefix : Number(prefixText);
  if (
    version === 0 ||
    rest.length > 0 ||
    (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) ||
    !Number.isInteger(prefix) ||
    prefix > maxPrefix
  ) {
    throw new Error(`not an address, a CIDR range, "loopback" or "private": "${entry}"`);
  }
  list.addSubnet(address, prefix, version === 4 ? 'ipv4' : 'ipv6');
}
