import { isIPv6 } from 'node:net';
import { LruMap } from './lru';

export interface UnknownKeyBudgetPolicy {
  /** Database lookups of keys not already known to be valid, per client address and window. */
  lookups: number;
  windowSeconds: number;
}

/**
 * How many times one client address may make the API ask the database about
 * a key it does not know to be valid. Lookups are counted when they start
 * (so a burst of concurrent made-up keys is counted before any answer) and
 * given back when the key turns out valid, so only misses use the budget.
 * Fixed windows; counters live in this process, for at most `maxAddresses`
 * addresses (the least recently seen are forgotten first).
 */
export class UnknownKeyBudget {
  private readonly windows: LruMap<string, { start: number; count: number }>;
  private readonly windowMs: number;

  constructor(
    readonly policy: UnknownKeyBudgetPolicy,
    private readonly now: () => number = Date.now,
    maxAddresses = 10_000,
  ) {
    this.windows = new LruMap(maxAddresses);
    this.windowMs = policy.windowSeconds * 1000;
  }

  /** Takes one lookup from the address's budget: null if granted, else the seconds until the window ends. */
  take(address: string): number | null {
    const t = this.now();
    const bucket = addressBucket(address);
    let window = this.windows.get(bucket);
    if (!window || t - window.start >= this.windowMs) {
      window = { start: t, count: 0 };
      this.windows.set(bucket, window);
    }
    if (window.count >= this.policy.lookups) {
      return Math.max(1, Math.ceil((window.start + this.windowMs - t) / 1000));
    }
    window.count += 1;
    return null;
  }

  /** Gives a lookup back (the key was valid), if its window is still the current one. */
  refund(address: string): void {
    const window = this.windows.get(addressBucket(address));
    if (window && this.now() - window.start < this.windowMs && window.count > 0) window.count -= 1;
  }
}

/**
 * The unit a budget belongs to: an IPv4 address, or an IPv6 /64 (one host
 * usually holds a whole /64, so counting single IPv6 addresses would hand it
 * 2^64 budgets). IPv4-mapped IPv6 addresses, dotted or not, count as their
 * IPv4 address. The login throttle keys client addresses the same way.
 */
export function addressBucket(address: string): string {
  const plain = address.replace(/%.*$/, '').toLowerCase();
  if (!isIPv6(plain)) return plain;
  const groups = ipv6Groups(plain);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`;
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded; a trailing dotted IPv4 part fills two). */
function ipv6Groups(ip: string): number[] {
  let text = ip;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  return [...front, ...Array<number>(Math.max(0, 8 - front.length - back.length)).fill(0), ...back];
}
