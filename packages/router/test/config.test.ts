import { describe, expect, it } from 'vitest';
import { apiConfigFromEnv } from '../src/config';

describe('apiConfigFromEnv', () => {
  it("gives a project 2.5 keys' worth of requests unless told otherwise", () => {
    expect(apiConfigFromEnv({}).rateLimit).toEqual({ requests: 100, windowSeconds: 1, projectRequests: 250 });
    expect(apiConfigFromEnv({ HERALD_RATE_LIMIT_REQUESTS: '1000' }).rateLimit.projectRequests).toBe(2500);
    expect(
      apiConfigFromEnv({ HERALD_RATE_LIMIT_REQUESTS: '1000', HERALD_RATE_LIMIT_PROJECT_REQUESTS: '1000' }).rateLimit
        .projectRequests,
    ).toBe(1000);
  });

  it('reads HERALD_TRUSTED_PROXIES, and stops start-up naming the variable when an entry is wrong', () => {
    expect(apiConfigFromEnv({}).trustedProxies).toEqual([]);
    expect(apiConfigFromEnv({ HERALD_TRUSTED_PROXIES: '10.0.0.0/8,loopback' }).trustedProxies).toEqual([
      '10.0.0.0/8',
      'loopback',
    ]);
    expect(() => apiConfigFromEnv({ HERALD_TRUSTED_PROXIES: 'lb.internal' })).toThrow(
      /^HERALD_TRUSTED_PROXIES: .*"lb\.internal"/,
    );
  });
});
