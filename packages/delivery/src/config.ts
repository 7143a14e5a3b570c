import type { Env } from '@herald/config';
import { EnvError, envDuration, envFlag, envInt, envString } from '@herald/config';
import type { RetryPolicy } from './retry-schedule';
import { defaultRetryPolicy, parseRetrySchedule } from './retry-schedule';

export interface DispatcherConfig {
  /** Deliveries sent at once by this process. */
  concurrency: number;
  /** Most deliveries taken by one claim query. */
  batchSize: number;
  /**
   * Deliveries a claim may take beyond the free slots; they wait in this process for the next slot,
   * and one not started within `(leaseMs - requestTimeoutMs) / 2` is left to its lease. See send-slots.ts.
   */
  prefetch: number;
  requestTimeoutMs: number;
  /** Must outlast the request timeout, or a slow receiver gets duplicates. */
  leaseMs: number;
  /** Polling fallback when no wakeup arrives. */
  pollIntervalMs: number;
  retryPolicy: RetryPolicy;
  failureWindowMs: number;
  allowPrivateNetworks: boolean;
  maxResponseBytes: number;
  /** Requests in flight to one slow or timing-out endpoint, across dispatchers (an endpoint's own setting wins). */
  endpointMaxInFlight: number;
  /** Deliveries in flight to one endpoint that answers fast; default: five times this dispatcher's concurrency plus its prefetch (answered ones whose outcome is being written count too: up to four per slot). */
  fastEndpointMaxInFlight: number | null;
  /** An endpoint whose answers average longer than this is slow. */
  slowEndpointAfterMs: number;
  /** Percent of this dispatcher's slots one project may hold while other projects have due work. */
  projectSharePercent: number;
  /** History (events, deliveries, attempts) older than this is dropped, one day partition at a time. */
  retentionMs: number;
  /** Event payloads and response excerpts of finished deliveries older than this are cleared. */
  payloadRetentionMs: number;
  /** How often this dispatcher tries the maintenance (partitions ahead, retention); 0: never. */
  maintenanceIntervalMs: number;
  /** Day partitions kept created ahead of today. */
  partitionsAheadDays: number;
}

export const defaultDispatcherConfig: DispatcherConfig = {
  concurrency: 64,
  batchSize: 64,
  prefetch: 64,
  requestTimeoutMs: 15_000,
  leaseMs: 45_000,
  pollIntervalMs: 1_000,
  retryPolicy: defaultRetryPolicy,
  failureWindowMs: 5 * 86_400_000,
  allowPrivateNetworks: false,
  maxResponseBytes: 4096,
  endpointMaxInFlight: 4,
  fastEndpointMaxInFlight: null,
  slowEndpointAfterMs: 1_000,
  projectSharePercent: 50,
  retentionMs: 30 * 86_400_000,
  payloadRetentionMs: 7 * 86_400_000,
  maintenanceIntervalMs: 3_600_000,
  partitionsAheadDays: 2,
};

export function dispatcherConfigFromEnv(env: Env = process.env): DispatcherConfig {
  const d = defaultDispatcherConfig;
  const requestTimeoutMs = envDuration(env, 'HERALD_REQUEST_TIMEOUT', d.requestTimeoutMs, { min: 1 });
  const leaseMs = envDuration(env, 'HERALD_LEASE', Math.max(d.leaseMs, requestTimeoutMs + 30_000), { min: 1 });
  if (leaseMs <= requestTimeoutMs) throw new EnvError('HERALD_LEASE', 'must be longer than HERALD_REQUEST_TIMEOUT');
  const schedule = envString(env, 'HERALD_RETRY_SCHEDULE');
  let retryPolicy = d.retryPolicy;
  if (schedule) {
    try {
      retryPolicy = { ...d.retryPolicy, delaysMs: parseRetrySchedule(schedule) };
    } catch (error) {
      throw new EnvError('HERALD_RETRY_SCHEDULE', (error as Error).message);
    }
  }
  const { retentionMs, payloadRetentionMs } = retentionFromEnv(env);
  return {
    concurrency: envInt(env, 'HERALD_DISPATCH_CONCURRENCY', d.concurrency),
    batchSize: envInt(env, 'HERALD_DISPATCH_BATCH', d.batchSize),
    prefetch: envInt(env, 'HERALD_DISPATCH_PREFETCH', d.prefetch, { min: 0 }),
    requestTimeoutMs,
    leaseMs,
    pollIntervalMs: envDuration(env, 'HERALD_POLL_INTERVAL', d.pollIntervalMs, { min: 1 }),
    retryPolicy,
    // Compared in SQL only (endpoint-health.ts), never a timer's delay.
    failureWindowMs: envDuration(env, 'HERALD_DISABLE_AFTER', d.failureWindowMs, { timer: false }),
    allowPrivateNetworks: envFlag(env, 'HERALD_ALLOW_PRIVATE_NETWORKS'),
    maxResponseBytes: d.maxResponseBytes,
    endpointMaxInFlight: envInt(env, 'HERALD_ENDPOINT_MAX_IN_FLIGHT', d.endpointMaxInFlight),
    fastEndpointMaxInFlight: d.fastEndpointMaxInFlight,
    slowEndpointAfterMs: envDuration(env, 'HERALD_ENDPOINT_SLOW_AFTER', d.slowEndpointAfterMs, { min: 1 }),
    projectSharePercent: envInt(env, 'HERALD_PROJECT_SHARE', d.projectSharePercent, { max: 100 }),
    retentionMs,
    payloadRetentionMs,
    maintenanceIntervalMs: envDuration(env, 'HERALD_MAINTENANCE_INTERVAL', d.maintenanceIntervalMs),
    partitionsAheadDays: d.partitionsAheadDays,
  };
}

/**
 * `HERALD_RETENTION` and `HERALD_PAYLOAD_RETENTION`, as the dispatcher's maintenance applies them and
 * the API refuses manual retries past them.
 */
export function retentionFromEnv(env: Env = process.env): Pick<DispatcherConfig, 'retentionMs' | 'payloadRetentionMs'> {
  const d = defaultDispatcherConfig;
  // At least two days: the day being written and the one before are never dropped. Retentions are
  // date arithmetic only, never a timer's delay, so they may exceed MAX_TIMER_MS (~24.8 days).
  const retentionMs = envDuration(env, 'HERALD_RETENTION', d.retentionMs, { min: 2 * 86_400_000, timer: false });
  const payloadRetentionMs = envDuration(env, 'HERALD_PAYLOAD_RETENTION', Math.min(d.payloadRetentionMs, retentionMs), {
    min: 1,
    timer: false,
  });
  if (payloadRetentionMs > retentionMs) {
    throw new EnvError('HERALD_PAYLOAD_RETENTION', 'must not be longer than HERALD_RETENTION');
  }
  return { retentionMs, payloadRetentionMs };
}
