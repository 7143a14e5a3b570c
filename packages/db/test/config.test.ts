import { describe, expect, it } from 'vitest';
import { defaultDbTimeouts } from '../src/client';
import { dbTimeoutsFromEnv } from '../src/config';

describe('dbTimeoutsFromEnv', () => {
  it('defaults to a 5 s connect timeout and a 30 s statement timeout', () => {
    expect(dbTimeoutsFromEnv({})).toEqual({ connectTimeoutMs: 5_000, statementTimeoutMs: 30_000 });
    expect(defaultDbTimeouts.connectTimeoutMs).toBe(5_000);
  });

  it('reads HERALD_DB_CONNECT_TIMEOUT and HERALD_DB_STATEMENT_TIMEOUT as durations; 0s turns the statement timeout off', () => {
    expect(dbTimeoutsFromEnv({ HERALD_DB_CONNECT_TIMEOUT: '2s', HERALD_DB_STATEMENT_TIMEOUT: '500ms' })).toEqual({
      connectTimeoutMs: 2_000,
      statementTimeoutMs: 500,
    });
    expect(dbTimeoutsFromEnv({ HERALD_DB_STATEMENT_TIMEOUT: '0s' }).statementTimeoutMs).toBe(0);
  });

  it('names the variable when a value is unusable', () => {
    expect(() => dbTimeoutsFromEnv({ HERALD_DB_CONNECT_TIMEOUT: '5' })).toThrow(/HERALD_DB_CONNECT_TIMEOUT/);
    expect(() => dbTimeoutsFromEnv({ HERALD_DB_CONNECT_TIMEOUT: '0s' })).toThrow(/HERALD_DB_CONNECT_TIMEOUT/);
    expect(() => dbTimeoutsFromEnv({ HERALD_DB_STATEMENT_TIMEOUT: 'soon' })).toThrow(/HERALD_DB_STATEMENT_TIMEOUT/);
  });
});
