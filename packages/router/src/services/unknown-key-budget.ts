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
 * 2^64 budgets). IPv4-mapped IPv6 addresses count as their IPv4 address.
 */
export function addressBucket(address: string): string {
  const plain = address.replace(/%.*$/, '').toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(plain);
  if (mapped) return mapped[1]!;
  if (!isIPv6(plain)) return plain;
  const [head = '', tail] = plain.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  // A trailing dotted IPv4 part (`64:ff9b::1.2.3.4`) fills two groups.
  const width = (groups: string[]) => groups.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const missing = Math.max(0, 8 - width(headGroups) - width(tailGroups));
  const groups = [...headGroups, ...Array<string>(missing).fill('0'), ...tailGroups];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
