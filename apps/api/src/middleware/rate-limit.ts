import type { CallBudget } from '@herald/router';
import { addressBucket } from '@herald/router';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { errorResponse } from '../rest/error-response';
import type { HeraldEnv } from './request-context';
import { setAnswerHeader } from './request-context';
import type { SharedBudgets } from './shared-budgets';

export interface RateLimitOptions {
  requests: number;
  windowSeconds: number;
  /**
   * What all of one project's API keys may make together per window (unset: no project budget).
   * A key's own budget alone let a project buy more by creating keys.
   */
  projectRequests?: number;
  now?: () => number;
  /**
   * The caller's valid API key (with its project) or portal session, or null. Only a credential
   * that verifies gets its own budget: keyed by the raw header, a client could send a new made-up
   * key with every request and never be limited.
   */
  identify?: (c: Context) => Promise<RateLimitCaller | null>;
  /** How many requests this one counts as (a tRPC batch: one per procedure); 1 when unset. */
  callsOf?: (c: Context) => number;
  /**
   * Budgets shared with the other API processes of the database (PostgreSQL): windows are then
   * aligned to the clock, and a budget holds for every process's requests together (shared-budgets.ts).
   */
  shared?: SharedBudgets;
}

/** Whose budgets a request spends: its own (`id`: an API key's, a portal session's) and its project's. */
export interface RateLimitCaller {
  id: string;
  /**
   * The project budget it spends: the project's id for its API keys; its portal sessions share
   * another (`portal:` and the id), as large, so that people in the portal cannot starve the keys.
   */
  projectId?: string;
}

interface Window {
  key: string;
  start: number;
  /** Requests this process counted. */
  count: number;
}

/** One budget a request spends, as announced in `RateLimit-Policy`. */
interface Budget {
  policy: 'default' | 'project';
  limit: number;
  window: Window;
}

/**
 * Fixed-window limits per API key (per portal session, per client address without either), and
 * per project across its keys (`projectRequests`), with the IETF draft's `RateLimit-Policy` /
 * `RateLimit` headers (one item per budget). Counters live in this process; on PostgreSQL the
 * budgets are shared with the database's other API processes (`shared`): a key spread over N
 * processes gets one budget.
 *
 * A request of several calls (a tRPC batch) is granted as many as every budget it spends has
 * left, through the `callBudget` context variable: the calls past the grant are refused one by
 * one (429 inside the batch), the others run. A request granted nothing is refused whole.
 */
export function rateLimit(options: RateLimitOptions) {
  const windowMs = options.windowSeconds * 1000;
  const now = options.now ?? Date.now;
  const windows = new Map<string, Window>();
  let lastSweep = now();
  const describe = (budget: Budget) =>
    budget.policy === 'project'
      ? `${budget.limit} requests per ${options.windowSeconds} s for all of a project's API keys (or all its portal sessions)`
      : `${budget.limit} requests per ${options.windowSeconds} s`;
  // `RateLimit-Policy` is the same on every answer with the same budgets: built once, not per request.
  const policyItem = (policy: Budget['policy'], limit: number) => `"${policy}";q=${limit};w=${options.windowSeconds}`;
  const keyPolicy = policyItem('default', options.requests);
  const projectPolicy =
    options.projectRequests === undefined
      ? keyPolicy
      : `${keyPolicy}, ${policyItem('project', options.projectRequests)}`;

  const { shared } = options;
  const windowOf = (key: string, t: number): Window => {
    let w = windows.get(key);
    if (!w || t - w.start >= windowMs) {
      // Shared windows start on the clock's boundaries: every process must mean the same one.
      w = { key, start: shared && !key.startsWith('ip:') ? t - (t % windowMs) : t, count: 0 };
      windows.set(key, w);
    }
    return w;
  };

  return createMiddleware<HeraldEnv>(async (c, next) => {
    const t = now();
    if (t - lastSweep > windowMs * 2) {
      for (const [key, w] of windows) if (t - w.start >= windowMs) windows.delete(key);
      lastSweep = t;
    }
    const caller = options.identify ? await options.identify(c) : null;
    const budgets: Budget[] = [
      {
        policy: 'default',
        limit: options.requests,
        window: windowOf(caller ? `k:${caller.id}` : clientAddressKey(c), t),
      },
    ];
    if (caller?.projectId !== undefined && options.projectRequests !== undefined) {
      budgets.push({ policy: 'project', limit: options.projectRequests, window: windowOf(`p:${caller.projectId}`, t) });
    }
    const calls = Math.max(1, options.callsOf?.(c) ?? 1);
    let leftOf: (b: Budget) => number;
    let granted: number;
    let spent: Budget[];
    if (shared && caller) {
      // Taken from each budget in turn (what one grants, the next is asked for); what a later one
      // refused goes back to the earlier ones. A refused request takes nothing. Only a verified
      // caller's budgets are shared: the keyless one per client address stays in the process, so
      // that requests from ever new addresses cost no database write.
      const asked: number[] = [];
      const grants: number[] = [];
      granted = calls;
      for (const b of budgets) {
        asked.push(granted);
        let got = granted === 0 ? 0 : shared.take(b.window.key, b.window.start, b.limit, granted);
        if (typeof got !== 'number') got = await got; // a reservation was made: no await otherwise
        grants.push(got);
        granted = Math.min(granted, got);
      }
      budgets.forEach((b, i) => {
        if (grants[i]! > granted) shared.giveBack(b.window.key, b.window.start, grants[i]! - granted);
      });
      leftOf = (b) => shared.left(b.window.key, b.window.start, b.limit);
      // The budgets that refused some of what they were asked, or are used up now.
      spent = budgets.filter((b, i) => grants[i]! < asked[i]! || (asked[i]! > 0 && leftOf(b) === 0));
    } else {
      leftOf = (b) => Math.max(0, b.limit - b.window.count);
      granted = Math.min(calls, ...budgets.map(leftOf));
      // The budgets that ran out (or run out within this request) decide the wait, and name the policy.
      spent = budgets.filter((b) => leftOf(b) === granted);
      // A refused request still counts against the budgets that refused it (the window stays spent
      // however hard a client knocks), and only those: a key knocking past its own budget must not
      // spend its project's, which the project's other keys share.
      for (const b of granted === 0 ? spent : budgets) b.window.count += Math.max(granted, 1);
    }
    const resetOf = (b: Budget) => Math.max(1, Math.ceil((b.window.start + windowMs - t) / 1000));
    const retryAfterSeconds = Math.max(...(spent.length > 0 ? spent : budgets).map(resetOf));
    const binding = spent.at(-1) ?? budgets[0]!;
    setAnswerHeader(c, 'ratelimit-policy', budgets.length === 1 ? keyPolicy : projectPolicy);
    let remaining = '';
    for (const b of budgets) remaining += `${remaining ? ', ' : ''}"${b.policy}";r=${leftOf(b)};t=${resetOf(b)}`;
    setAnswerHeader(c, 'ratelimit', remaining);
    if (granted === 0) {
      setAnswerHeader(c, 'retry-after', String(retryAfterSeconds));
      return errorResponse(c, 'rate_limited', `Rate limit of ${describe(binding)} exceeded`);
    }
    c.set('callBudget', callBudget(granted, retryAfterSeconds, describe(binding)));
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
