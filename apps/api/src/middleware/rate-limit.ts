import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { errorResponse } from '../rest/error-response';

export interface RateLimitOptions {
  requests: number;
  windowSeconds: number;
  now?: () => number;
  /**
   * The id of the caller's valid API key, or null. Only a key that verifies
   * gets its own budget: keyed by the raw header, a client could send a new
   * made-up key with every request and never be limited.
   */
  identify?: (c: Context) => Promise<string | null>;
}

/**
 * Fixed-window limits per API key (per client address without a valid one), with
 * the IETF draft's `RateLimit-Policy` / `RateLimit` headers. Counters live
 * in this process: with N API processes behind a balancer a key may make up
 * to N × `requests` per window (see the README).
 */
export function rateLimit(options: RateLimitOptions) {
  const windowMs = options.windowSeconds * 1000;
  const now = options.now ?? Date.now;
  const windows = new Map<string, { start: number; count: number }>();
  let lastSweep = now();
  const policy = `"default";q=${options.requests};w=${options.windowSeconds}`;

  return createMiddleware(async (c, next) => {
    const t = now();
    if (t - lastSweep > windowMs * 2) {
      for (const [key, w] of windows) if (t - w.start >= windowMs) windows.delete(key);
      lastSweep = t;
    }
    const apiKeyId = options.identify ? await options.identify(c) : null;
    const key = apiKeyId ? `k:${apiKeyId}` : clientAddressKey(c);
    let w = windows.get(key);
    if (!w || t - w.start >= windowMs) {
      w = { start: t, count: 0 };
      windows.set(key, w);
    }
    w.count += 1;
    const resetSeconds = Math.max(1, Math.ceil((w.start + windowMs - t) / 1000));
    const remaining = Math.max(0, options.requests - w.count);
    c.header('RateLimit-Policy', policy);
    c.header('RateLimit', `"default";r=${remaining};t=${resetSeconds}`);
    if (w.count > options.requests) {
      c.header('Retry-After', String(resetSeconds));
      return errorResponse(
        c,
        'rate_limited',
        `Rate limit of ${options.requests} requests per ${options.windowSeconds} s exceeded`,
      );
    }
    await next();
  });
}

function clientAddressKey(c: Context): string {
  try {
    return `ip:${getConnInfo(c).remote.address ?? 'unknown'}`;
  } catch {
    return 'ip:unknown';
  }
}
