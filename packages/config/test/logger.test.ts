import { afterEach, describe, expect, it } from 'vitest';
import { EnvError } from '../src/env';
import { createLogger, logLevelFromEnv } from '../src/logger';

describe('logLevelFromEnv', () => {
  it("takes pino's levels in any case; unset or empty is info", () => {
    expect(logLevelFromEnv({})).toBe('info');
    expect(logLevelFromEnv({ HERALD_LOG_LEVEL: '' })).toBe('info');
    expect(logLevelFromEnv({ HERALD_LOG_LEVEL: '  ' })).toBe('info');
    expect(logLevelFromEnv({ HERALD_LOG_LEVEL: 'DEBUG' })).toBe('debug');
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) {
      expect(logLevelFromEnv({ HERALD_LOG_LEVEL: level })).toBe(level);
    }
  });

  it('refuses another word, naming the variable', () => {
    for (const text of ['verbose', 'warning', '30', 'off']) {
      let error: unknown;
      try {
        logLevelFromEnv({ HERALD_LOG_LEVEL: text });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(EnvError);
      expect((error as EnvError).message).toBe(
        `HERALD_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got "${text}"`,
      );
    }
  });
});

describe('createLogger and HERALD_LOG_LEVEL', () => {
  const before = process.env.HERALD_LOG_LEVEL;
  afterEach(() => {
    if (before === undefined) delete process.env.HERALD_LOG_LEVEL;
    else process.env.HERALD_LOG_LEVEL = before;
  });
  const sink = { write: () => {} };

  it('logs at info when the variable is empty, at its level when set (any case)', () => {
    process.env.HERALD_LOG_LEVEL = '';
    expect(createLogger({ destination: sink }).level).toBe('info');
    process.env.HERALD_LOG_LEVEL = 'Warn';
    expect(createLogger({ destination: sink }).level).toBe('warn');
  });

  it('stops with an EnvError naming the variable for an unknown level; an explicit level wins', () => {
    process.env.HERALD_LOG_LEVEL = 'verbose';
    expect(() => createLogger({ destination: sink })).toThrow(EnvError);
    expect(() => createLogger({ destination: sink })).toThrow(/^HERALD_LOG_LEVEL: /);
    expect(createLogger({ level: 'debug', destination: sink }).level).toBe('debug');
  });
});
