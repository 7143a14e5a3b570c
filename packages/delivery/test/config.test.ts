import type { Database } from '@herald/db';
import { describe, expect, it } from 'vitest';
import { defaultDispatcherConfig, dispatcherConfigFromEnv } from '../src/config';
import { createDispatcher } from '../src/dispatcher';
import { defaultRetryPolicy } from '../src/retry-schedule';

describe('dispatcherConfigFromEnv', () => {
  it('falls back to the defaults', () => {
    expect(dispatcherConfigFromEnv({})).toEqual(defaultDispatcherConfig);
  });

  it('reads every setting', () => {
    const config = dispatcherConfigFromEnv({
      HERALD_DISPATCH_CONCURRENCY: '8',
      HERALD_DISPATCH_BATCH: '4',
      HERALD_REQUEST_TIMEOUT: '2s',
      HERALD_LEASE: '4s',
      HERALD_POLL_INTERVAL: '250ms',
      HERALD_RETRY_SCHEDULE: '1s,1s,2s',
      HERALD_DISABLE_AFTER: '1d',
      HERALD_ALLOW_PRIVATE_NETWORKS: '1',
    });
    expect(config).toEqual({
      ...defaultDispatcherConfig,
      concurrency: 8,
      batchSize: 4,
      requestTimeoutMs: 2_000,
      leaseMs: 4_000,
      pollIntervalMs: 250,
      retryPolicy: { ...defaultRetryPolicy, delaysMs: [1_000, 1_000, 2_000] },
      failureWindowMs: 86_400_000,
      allowPrivateNetworks: true,
    });
  });

  it('derives a lease that outlasts a long request timeout', () => {
    expect(dispatcherConfigFromEnv({ HERALD_REQUEST_TIMEOUT: '30s' }).leaseMs).toBe(60_000);
    expect(dispatcherConfigFromEnv({ HERALD_REQUEST_TIMEOUT: '5s' }).leaseMs).toBe(45_000);
  });

  it('refuses a lease that does not outlast the request timeout, and bad numbers', () => {
    expect(() => dispatcherConfigFromEnv({ HERALD_REQUEST_TIMEOUT: '10s', HERALD_LEASE: '10s' })).toThrow(
      /HERALD_LEASE/,
    );
    expect(() => dispatcherConfigFromEnv({ HERALD_DISPATCH_CONCURRENCY: '0' })).toThrow(/HERALD_DISPATCH_CONCURRENCY/);
    expect(() => dispatcherConfigFromEnv({ HERALD_DISPATCH_BATCH: '2.5' })).toThrow(/HERALD_DISPATCH_BATCH/);
    expect(() => dispatcherConfigFromEnv({ HERALD_POLL_INTERVAL: 'often' })).toThrow(/not a duration/);
    expect(() => dispatcherConfigFromEnv({ HERALD_RETRY_SCHEDULE: ',' })).toThrow(/no delays/);
  });

  it('reads the history retention settings, payload retention no longer than retention', () => {
    expect(
      dispatcherConfigFromEnv({
        HERALD_RETENTION: '14d',
        HERALD_PAYLOAD_RETENTION: '3d',
        HERALD_MAINTENANCE_INTERVAL: '10m',
      }),
    ).toMatchObject({
      retentionMs: 14 * 86_400_000,
      payloadRetentionMs: 3 * 86_400_000,
      maintenanceIntervalMs: 600_000,
    });
    // A retention shorter than the default payload retention shortens that too.
    expect(dispatcherConfigFromEnv({ HERALD_RETENTION: '3d' }).payloadRetentionMs).toBe(3 * 86_400_000);
    expect(() => dispatcherConfigFromEnv({ HERALD_RETENTION: '10d', HERALD_PAYLOAD_RETENTION: '11d' })).toThrow(
      /HERALD_PAYLOAD_RETENTION/,
    );
    expect(() => dispatcherConfigFromEnv({ HERALD_RETENTION: '1d' })).toThrow(/HERALD_RETENTION/);
  });

  it("refuses a timer's duration past 2^31 - 1 ms (~24.8 days), which Node would run after 1 ms", () => {
    for (const name of [
      'HERALD_REQUEST_TIMEOUT',
      'HERALD_LEASE',
      'HERALD_POLL_INTERVAL',
      'HERALD_MAINTENANCE_INTERVAL',
      'HERALD_ENDPOINT_SLOW_AFTER',
    ]) {
      expect(() => dispatcherConfigFromEnv({ [name]: '25d' }), name).toThrow(
        new RegExp(`^${name}: must be at most 2147483647ms \\(about 24\\.8 days`),
      );
      expect(() => dispatcherConfigFromEnv({ [name]: '30d' }), name).toThrow(new RegExp(`^${name}: `));
    }
    expect(dispatcherConfigFromEnv({ HERALD_POLL_INTERVAL: '24d' }).pollIntervalMs).toBe(24 * 86_400_000);
    expect(dispatcherConfigFromEnv({ HERALD_MAINTENANCE_INTERVAL: '0s' }).maintenanceIntervalMs).toBe(0);
    expect(dispatcherConfigFromEnv({ HERALD_REQUEST_TIMEOUT: '10d', HERALD_LEASE: '20d' })).toMatchObject({
      requestTimeoutMs: 10 * 86_400_000,
      leaseMs: 20 * 86_400_000,
    });
  });

  it('lets the durations used only in SQL and date arithmetic go past the timer maximum', () => {
    expect(
      dispatcherConfigFromEnv({
        HERALD_RETENTION: '90d',
        HERALD_PAYLOAD_RETENTION: '60d',
        HERALD_DISABLE_AFTER: '30d',
      }),
    ).toMatchObject({
      retentionMs: 90 * 86_400_000,
      payloadRetentionMs: 60 * 86_400_000,
      failureWindowMs: 30 * 86_400_000,
    });
  });

  it('only "1" allows private networks', () => {
    for (const value of ['0', 'true', 'yes', '']) {
      expect(dispatcherConfigFromEnv({ HERALD_ALLOW_PRIVATE_NETWORKS: value }).allowPrivateNetworks).toBe(false);
    }
  });
});

describe('createDispatcher', () => {
  const wakeup = { notify() {}, subscribe: async () => async () => {} };
  const db = {} as Database;

  it('refuses a lease that would run out before the request timeout', () => {
    expect(() => createDispatcher({ db, wakeup, config: { requestTimeoutMs: 5_000, leaseMs: 5_000 } })).toThrow(
      /leaseMs/,
    );
    expect(() => createDispatcher({ db, wakeup, config: { requestTimeoutMs: 60_000 } })).toThrow(/leaseMs/);
    expect(createDispatcher({ db, wakeup, config: { requestTimeoutMs: 5_000, leaseMs: 5_001 } }).workerId).toMatch(
      /^dsp_[0-9a-f]{12}$/,
    );
  });

  it('names workers uniquely unless told', () => {
    expect(createDispatcher({ db, wakeup }).workerId).not.toBe(createDispatcher({ db, wakeup }).workerId);
    expect(createDispatcher({ db, wakeup, workerId: 'w-1' }).workerId).toBe('w-1');
  });
});
