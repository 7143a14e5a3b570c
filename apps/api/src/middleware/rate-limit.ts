import type { CallBudget } from '@herald/router';
import { addressBucket } from '@herald/router';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { errorResponse } from '../rest/error-response';
import type { HeraldEnv } from './request-context';
import { setAnswerHeader } from './request-context';

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
  /** How many requests this one counts as (a tRPC batch: one per procedure); 1 when unset. */
  callsOf?: (c: Context) => number;
}

/**
 * Fixed-window limits per API key (per client address without a valid one), with
 * the IETF draft's `RateLimit-Policy` / `RateLimit` headers. Counters live
 * in this process: with N API processes behind a balancer a key may make up
 * to N × `requests` per window (see the README).
 *
 * A request of several calls (a tRPC batch) is granted as many as the
 * window has left, through the `callBudget` context variable: the calls
 * past the grant are refused one by one (429 inside the batch), the others
 * run. A request granted nothing is refused whole.
 */
export function rateLimit(options: RateLimitOptions) {
  const windowMs = options.windowSeconds * 1000;
  const now = options.now ?? Date.now;
  const windows = new Map<string, { start: number; count: number }>();
  let lastSweep = now();
  const policy = `"default";q=${options.requests};w=${options.windowSeconds}`;

  return createMiddleware<HeraldEnv>(async (c, next) => {
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
    const calls = Math.max(1, options.callsOf?.(c) ?? 1);
    const granted = Math.min(calls, Math.max(0, options.requests - w.count));
    // A refused request still counts: the window stays spent however hard a client knocks.
    w.count += Math.max(granted, 1);
    const resetSeconds = Math.max(1, Math.ceil((w.start + windowMs - t) / 1000));
    const remaining = Math.max(0, options.requests - w.count);
    setAnswerHeader(c, 'ratelimit-policy', policy);
    setAnswerHeader(c, 'ratelimit', `"default";r=${remaining};t=${resetSeconds}`);
    if (granted === 0) {
      setAnswerHeader(c, 'retry-after', String(resetSeconds));
      return errorResponse(
        c,
        'rate_limited',
        `Rate limit of ${options.requests} requests per ${options.windowSeconds} s exceeded`,
      );
    }
    c.set(
      'callBudget',
      callBudget(granted, resetSeconds, `${options.requests} requests per ${options.windowSeconds} s`),
    );
    await next();
  });
}

function callBudget(granted: number, retryAfterSeconds: number, policy: string): CallBudget {
  let left = granted;
  return {
    retryAfterSeconds,
    policy,
    take() {
      if (left === 0) return false;
      left -= 1;
      return true;
    },
  };
}

/**
 * Procedure calls in a tRPC request, counted as tRPC counts them:
 * `/trpc/a,b,c?batch=1` is three (commas may be percent-encoded), any
 * other request one. `endpoint` is tRPC's mount path.
 */
export function trpcCallsOf(c: Context, endpoint = '/trpc'): number {
  // Hono routes by this path: a request whose URL is under the mount path has it under the mount
  // path too, so the others (every REST call) need no URL parsed.
  if (!c.req.path.startsWith(`${endpoint}/`)) return 1;
  const url = new URL(c.req.url);
  if (url.searchParams.get('batch') !== '1' || !url.pathname.startsWith(`${endpoint}/`)) return 1;
  const path = url.pathname.slice(endpoint.length + 1);
  try {
    return decodeURIComponent(path).split(',').length;
  } catch {
    return path.split(',').length; // tRPC refuses the path; counted all the same
  }
}

/** A tRPC batch of more than `max` calls is refused whole, before any runs: 400 `batch_too_large`. */
export function refuseLargeBatch(c: Context, max: number, endpoint = '/trpc'): Response | undefined {
  const calls = trpcCallsOf(c, endpoint);
  if (calls <= max) return undefined;
  return errorResponse(
    c,
    'batch_too_large',
    `A tRPC batch may call at most ${max} procedures; this one calls ${calls}`,
  );
}

/** Per client address (`clientAddressOf`), an IPv6 /64 as one: a host holds the whole /64. */
function clientAddressKey(c: Context<HeraldEnv>): string {
  const address = c.var.clientAddress;
  return `ip:${address === undefined ? 'unknown' : addressBucket(address)}`;
}
