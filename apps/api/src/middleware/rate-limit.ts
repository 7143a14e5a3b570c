import { createHash } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import { getConnInfo } from '@hono/node-server/conninfo';
import { errorResponse } from '../rest/error-response';

export interface RateLimitOptions {
  requests: number;
  windowSeconds: number;
  now?: () => number;
}

/**
 * Fixed-window limits per API key (per client address without one), with
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
    const key = clientKey(c);
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
      return errorResponse(c, 'rate_limited', `Rate limit of ${options.requests} requests per ${options.windowSeconds} s exceeded`);
    }
    await next();
  });
}

function clientKey(c: Parameters<Parameters<typeof createMiddleware>[0]>[0]): string {
  const auth = c.req.header('authorization');
  // Keyed by a hash so the map never holds a usable key.
  if (auth) return `k:${createHash('sha256').update(auth).digest('base64url')}`;
  try {
    return `ip:${getConnInfo(c).remote.address ?? 'unknown'}`;
  } catch {
    return 'ip:unknown';
  }
}
