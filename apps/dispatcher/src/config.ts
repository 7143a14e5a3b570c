import { defaultRetryPolicy, parseDuration, parseRetrySchedule } from './retry-schedule';
import type { RetryPolicy } from './retry-schedule';

export interface DispatcherConfig {
  /** Deliveries sent at once by this process. */
  concurrency: number;
  /** Most deliveries taken by one claim query. */
  batchSize: number;
  requestTimeoutMs: number;
  /** Must outlast the request timeout, or a slow receiver gets duplicates. */
  leaseMs: number;
  /** Polling fallback when no wakeup arrives. */
  pollIntervalMs: number;
  retryPolicy: RetryPolicy;
  failureWindowMs: number;
  allowPrivateNetworks: boolean;
  maxResponseBytes: number;
}

export const defaultDispatcherConfig: DispatcherConfig = {
  concurrency: 64,
  batchSize: 32,
  requestTimeoutMs: 15_000,
  leaseMs: 45_000,
  pollIntervalMs: 1_000,
  retryPolicy: defaultRetryPolicy,
  failureWindowMs: 5 * 86_400_000,
  allowPrivateNetworks: false,
  maxResponseBytes: 4096,
};

export function dispatcherConfigFromEnv(env: NodeJS.ProcessEnv = process.env): DispatcherConfig {
  const d = defaultDispatcherConfig;
  const duration = (name: string, fallback: number) => (env[name] ? parseDuration(env[name]!) : fallback);
  const count = (name: string, fallback: number) => {
    if (!env[name]) return fallback;
    const n = Number(env[name]);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer`);
    return n;
  };
  const requestTimeoutMs = duration('HERALD_REQUEST_TIMEOUT', d.requestTimeoutMs);
  const leaseMs = duration('HERALD_LEASE', Math.max(d.leaseMs, requestTimeoutMs + 30_000));
  if (leaseMs <= requestTimeoutMs) throw new Error('HERALD_LEASE must be longer than HERALD_REQUEST_TIMEOUT');
  return {
    concurrency: count('HERALD_DISPATCH_CONCURRENCY', d.concurrency),
    batchSize: count('HERALD_DISPATCH_BATCH', d.batchSize),
    requestTimeoutMs,
    leaseMs,
    pollIntervalMs: duration('HERALD_POLL_INTERVAL', d.pollIntervalMs),
    retryPolicy: env.HERALD_RETRY_SCHEDULE
      ? { ...d.retryPolicy, delaysMs: parseRetrySchedule(env.HERALD_RETRY_SCHEDULE) }
      : d.retryPolicy,
    failureWindowMs: duration('HERALD_DISABLE_AFTER', d.failureWindowMs),
    allowPrivateNetworks: env.HERALD_ALLOW_PRIVATE_NETWORKS === '1',
    maxResponseBytes: d.maxResponseBytes,
  };
}
