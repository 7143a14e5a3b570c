import { describe, expect, it } from 'vitest';
import { EnvError, envDatabaseUrl, envDuration, envOnOff, MAX_TIMER_MS } from '../src/env';

/** The error `run` throws (failing the test when it throws none). */
function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('envDuration', () => {
  it('reads a duration, and falls back when unset or empty', () => {
    expect(envDuration({ T: '5s' }, 'T', 1)).toBe(5_000);
    expect(envDuration({}, 'T', 1)).toBe(1);
    expect(envDuration({ T: ' ' }, 'T', 1)).toBe(1);
  });

  it("refuses by default what Node's timers cannot wait (over 2^31 - 1 ms, ~24.8 days), naming the variable", () => {
    expect(MAX_TIMER_MS).toBe(2 ** 31 - 1);
    expect(envDuration({ T: '24d' }, 'T', 1)).toBe(24 * 86_400_000);
    expect(envDuration({ T: `${MAX_TIMER_MS}ms` }, 'T', 1)).toBe(MAX_TIMER_MS);
    for (const text of ['25d', `${MAX_TIMER_MS + 1}ms`, '30d', '100000h']) {
      const error = thrown(() => envDuration({ HERALD_X: text }, 'HERALD_X', 1, { min: 1 }));
      expect(error).toBeInstanceOf(EnvError);
      expect((error as EnvError).variable).toBe('HERALD_X');
      expect(error.message).toMatch(/^HERALD_X: must be at most 2147483647ms \(about 24\.8 days/);
      expect(error.message).toContain(`"${text}"`);
    }
  });

  it('keeps a timer duration under the timer maximum even when a larger max is asked for', () => {
    expect(() => envDuration({ T: '30d' }, 'T', 1, { max: 60 * 86_400_000 })).toThrow(/24\.8 days/);
    expect(() => envDuration({ T: '2h' }, 'T', 1, { max: 3_600_000 })).toThrow(/^T: must be between 0ms and 1h/);
  });

  it('lets a duration that never reaches a timer (timer: false) go past it', () => {
    expect(envDuration({ T: '90d' }, 'T', 1, { timer: false })).toBe(90 * 86_400_000);
    expect(() => envDuration({ T: '90d' }, 'T', 1, { timer: false, max: 60 * 86_400_000 })).toThrow(
      /^T: must be between 0ms and 60d/,
    );
  });
});

describe('envOnOff', () => {
  it('accepts on and off in any case, and falls back when unset or empty', () => {
    for (const text of ['on', 'ON', 'On', ' on ']) expect(envOnOff({ S: text }, 'S', false)).toBe(true);
    for (const text of ['off', 'OFF', 'Off']) expect(envOnOff({ S: text }, 'S', true)).toBe(false);
    expect(envOnOff({}, 'S', true)).toBe(true);
    expect(envOnOff({}, 'S', false)).toBe(false);
    expect(envOnOff({ S: '' }, 'S', true)).toBe(true);
  });

  it('refuses every other spelling, naming the variable', () => {
    for (const text of ['false', 'true', '0', '1', 'no', 'yes', 'disabled', 'of']) {
      const error = thrown(() => envOnOff({ HERALD_DISPATCHER: text }, 'HERALD_DISPATCHER', true));
      expect(error).toBeInstanceOf(EnvError);
      expect(error.message).toBe(`HERALD_DISPATCHER: must be "on" or "off", got "${text}"`);
    }
  });
});

describe('envDatabaseUrl', () => {
  it('reads a postgres:// or postgresql:// URL, several hosts included; undefined when unset or empty', () => {
    for (const url of [
      'postgres://herald:pw@127.0.0.1:5432/herald',
      'postgresql://herald@db.internal/herald?sslmode=require',
      'postgres://u:p%40ss@h1:5432,h2:5433/db',
      'postgres://[::1]:5432/herald',
    ]) {
      expect(envDatabaseUrl({ DATABASE_URL: url })).toBe(url);
    }
    expect(envDatabaseUrl({})).toBeUndefined();
    expect(envDatabaseUrl({ DATABASE_URL: '  ' })).toBeUndefined();
  });

  it('refuses what is not a URL, or not PostgreSQL, without quoting any of it', () => {
    for (const url of [
      'postgres://u:S3cret@127.0.0.1:5432:bad/x',
      'postgres://u:S3cret@127.0.0.1:99999/x',
      'postgres://u:S3cret/x@127.0.0.1/x',
      'postgres://u:S3cret@h%zz/x',
      // A lone % in the password (the driver's URIError, with its stack, before).
      'postgres://u:S3cret%zzPW@127.0.0.1/x',
      'postgres://u%zz:S3cret@127.0.0.1/x',
      'u:S3cret@127.0.0.1:5432/x',
      'mysql://u:S3cret@127.0.0.1:3306/x',
      'http://u:S3cret@127.0.0.1/x',
    ]) {
      const error = thrown(() => envDatabaseUrl({ DATABASE_URL: url }));
      expect(error).toBeInstanceOf(EnvError);
      expect((error as EnvError).variable).toBe('DATABASE_URL');
      expect(error.message).toMatch(/^DATABASE_URL: /);
      expect(error.message).not.toContain('S3cret');
      expect(error.message).not.toContain('127.0.0.1');
      expect(error.cause).toBeUndefined();
      expect(JSON.stringify(error)).not.toContain('S3cret');
    }
  });

  it('refuses an sslmode the driver would take as another (a typo verified certificates, failing as a TLS error)', () => {
    for (const mode of ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']) {
      expect(envDatabaseUrl({ DATABASE_URL: `postgres://h/x?sslmode=${mode}` })).toBeDefined();
    }
    expect(envDatabaseUrl({ DATABASE_URL: 'postgres://h/x?sslmode=' })).toBeDefined();
    // The driver keeps the last of several.
    expect(() => envDatabaseUrl({ DATABASE_URL: 'postgres://h/x?sslmode=require&sslmode=bogus' })).toThrow(EnvError);
    const error = thrown(() => envDatabaseUrl({ DATABASE_URL: 'postgres://u:S3cret@h/x?sslmode=bogus' }));
    expect(error).toBeInstanceOf(EnvError);
    expect(error.message).toMatch(/^DATABASE_URL: has sslmode="bogus": expected one of disable, /);
    expect(error.message).not.toContain('S3cret');
  });

  it('reads another variable when told', () => {
    expect(() => envDatabaseUrl({ OTHER_URL: 'nope' }, 'OTHER_URL')).toThrow(/^OTHER_URL: /);
  });
});
