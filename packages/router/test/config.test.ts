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

  it('reads HERALD_PUBLIC_URL as an origin, and refuses one with a path or of another scheme', () => {
    expect(apiConfigFromEnv({}).publicUrl).toBeUndefined();
    expect(apiConfigFromEnv({ HERALD_PUBLIC_URL: 'https://api.example.com/' }).publicUrl).toBe(
      'https://api.example.com',
    );
    for (const bad of [
      'api.example.com',
      'ftp://api.example.com',
      'https://api.example.com/v1',
      'https://a.example?x=1',
    ]) {
      expect(() => apiConfigFromEnv({ HERALD_PUBLIC_URL: bad })).toThrow(/^HERALD_PUBLIC_URL: /);
    }
  });

  it('reads HERALD_SECRET_KEY_PREVIOUS as one key of at least 32 characters, commas and all', () => {
    expect(apiConfigFromEnv({}).previousSecretKeys).toEqual([]);
    const key = `${'a'.repeat(20)},${'b'.repeat(20)}`;
    expect(apiConfigFromEnv({ HERALD_SECRET_KEY_PREVIOUS: key }).previousSecretKeys).toEqual([key]);
    expect(() => apiConfigFromEnv({ HERALD_SECRET_KEY_PREVIOUS: 'short' })).toThrow(/^HERALD_SECRET_KEY_PREVIOUS: /);
  });

  it('refuses a short HERALD_ADMIN_TOKEN in production, without quoting it', () => {
    expect(apiConfigFromEnv({ HERALD_ADMIN_TOKEN: 'short' }).adminToken).toBe('short');
    let message = '';
    try {
      apiConfigFromEnv({ NODE_ENV: 'production', HERALD_ADMIN_TOKEN: 'x'.repeat(31) });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^HERALD_ADMIN_TOKEN: must be at least 32 characters long when NODE_ENV=production/);
    expect(message).not.toContain('x'.repeat(31));
    const token = 'y'.repeat(32);
    expect(apiConfigFromEnv({ NODE_ENV: 'production', HERALD_ADMIN_TOKEN: token }).adminToken).toBe(token);
    expect(apiConfigFromEnv({ NODE_ENV: 'production' }).adminToken).toBeNull();
  });

  it('reads HERALD_PASSWORD_THREADS and HERALD_PASSWORD_QUEUE at start, stopping it on a bad value', () => {
    expect(apiConfigFromEnv({}).passwordHashing).toEqual({ threads: 2, maxQueue: 16 });
    expect(apiConfigFromEnv({ HERALD_PASSWORD_THREADS: '4', HERALD_PASSWORD_QUEUE: '0' }).passwordHashing).toEqual({
      threads: 4,
      maxQueue: 0,
    });
    expect(apiConfigFromEnv({ HERALD_PASSWORD_THREADS: '', HERALD_PASSWORD_QUEUE: ' ' }).passwordHashing).toEqual({
      threads: 2,
      maxQueue: 16,
    });
    for (const threads of ['0', '17', 'two', '1.5']) {
      expect(() => apiConfigFromEnv({ HERALD_PASSWORD_THREADS: threads })).toThrow(/^HERALD_PASSWORD_THREADS: /);
    }
    for (const queue of ['-1', 'many', '2.5']) {
      expect(() => apiConfigFromEnv({ HERALD_PASSWORD_QUEUE: queue })).toThrow(/^HERALD_PASSWORD_QUEUE: /);
    }
  });
});
