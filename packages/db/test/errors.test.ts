import { DrizzleQueryError } from 'drizzle-orm/errors';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { reconnectBackoff } from '../src/client';
import { againOnConflict, isDatabaseUnavailable, isUniqueViolation } from '../src/errors';

const withCode = (code: string, message = code) => Object.assign(new Error(message), { code });
/** How drizzle reports a failed query: its own error, the driver's as the cause. */
const failedQuery = (cause: unknown) => new DrizzleQueryError('select 1', [], cause as Error);

describe('isDatabaseUnavailable', () => {
  it.each([
    'CONNECTION_CLOSED',
    'CONNECTION_DESTROYED',
    'CONNECTION_ENDED',
    'CONNECT_TIMEOUT',
    'ECONNREFUSED',
    'ECONNRESET',
    'EPIPE',
    'ETIMEDOUT',
    '57P01', // admin_shutdown: pg_ctlcluster restart -m fast
    '57P02',
    '57P03', // cannot_connect_now: still starting
    '53300',
    '57014', // statement_timeout
    '08000',
    '08003',
    '08006',
    '08P01',
  ])('is true for %s, bare and as the cause of a failed query', (code) => {
    expect(isDatabaseUnavailable(withCode(code))).toBe(true);
    expect(isDatabaseUnavailable(failedQuery(withCode(code)))).toBe(true);
    expect(isDatabaseUnavailable(new Error('wrapped twice', { cause: failedQuery(withCode(code)) }))).toBe(true);
  });

  it.each(['23505', '23503', '22P02', '42P01', '40001', '25P02', 'ERR_INVALID_ARG_TYPE', 'INTERNAL_SERVER_ERROR'])(
    'is false for %s: a wrong request or a bug is not an outage',
    (code) => {
      expect(isDatabaseUnavailable(withCode(code))).toBe(false);
      expect(isDatabaseUnavailable(failedQuery(withCode(code)))).toBe(false);
    },
  );

  /** As postgres.js raises a server's refusal at connection start (PostgresError fields). */
  const refused = (code: string, severity: string, message: string) =>
    Object.assign(new Error(message), { name: 'PostgresError', code, severity, severity_local: severity });

  it('is true for a database that does not accept connections (55000) or no longer exists (3D000) at connect', () => {
    for (const error of [
      refused('55000', 'FATAL', 'database "herald" is not currently accepting connections'),
      refused('3D000', 'FATAL', 'database "herald" does not exist'),
    ]) {
      expect(isDatabaseUnavailable(error)).toBe(true);
      expect(isDatabaseUnavailable(failedQuery(error))).toBe(true);
    }
  });

  it('is false for the same codes raised by a statement (ERROR): a bug, not an outage', () => {
    expect(isDatabaseUnavailable(refused('55000', 'ERROR', 'currval of sequence "s" is not yet defined'))).toBe(false);
    expect(isDatabaseUnavailable(failedQuery(refused('3D000', 'ERROR', 'database "x" does not exist')))).toBe(false);
    expect(isDatabaseUnavailable(withCode('55000'))).toBe(false);
  });

  it('is false for non-errors, errors without a code and cyclic causes', () => {
    for (const value of [undefined, null, 0, '', 'ECONNREFUSED', new Error('boom'), { code: 57 }]) {
      expect(isDatabaseUnavailable(value)).toBe(false);
    }
    const a: { cause?: unknown } = new Error('a');
    a.cause = new Error('b', { cause: a });
    expect(isDatabaseUnavailable(a)).toBe(false);
  });

  it('looks inside an AggregateError (every address of a host refused)', () => {
    expect(isDatabaseUnavailable(new AggregateError([new Error('x'), withCode('ECONNREFUSED')]))).toBe(true);
  });

  it('is true for what postgres.js raises when nothing listens on the port', async () => {
    const sql = postgres('postgres://postgres@127.0.0.1:1/none', { max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      const error = await sql`select 1`.then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).not.toBeNull();
      expect(isDatabaseUnavailable(error)).toBe(true);
      expect(isUniqueViolation(error)).toBe(false);
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});

describe('reconnectBackoff', () => {
  it('starts within 50 ms and never waits more than a second, however many attempts failed', () => {
    for (let i = 0; i < 100; i++) {
      expect(reconnectBackoff(0)).toBeLessThanOrEqual(0.05);
      expect(reconnectBackoff(0)).toBeGreaterThanOrEqual(0.025);
      expect(reconnectBackoff(50)).toBeLessThanOrEqual(1);
      expect(reconnectBackoff(50)).toBeGreaterThanOrEqual(0.5);
    }
  });
});

describe('againOnConflict', () => {
  const conflict = (code: string) => Object.assign(new Error('lost a race'), { code });

  it('runs again after a deadlock or a serialization failure, also when the driver wraps it', async () => {
    for (const error of [conflict('40P01'), conflict('40001'), new Error('wrapped', { cause: conflict('40P01') })]) {
      let runs = 0;
      const answer = await againOnConflict(async () => {
        runs += 1;
        if (runs < 3) throw error;
        return 'written';
      });
      expect([answer, runs]).toEqual(['written', 3]);
    }
  });

  it('gives up after its tries, and never runs again after any other error', async () => {
    let runs = 0;
    await expect(
      againOnConflict(async () => {
        runs += 1;
        throw conflict('40P01');
      }, 3),
    ).rejects.toMatchObject({ code: '40P01' });
    expect(runs).toBe(3);
    runs = 0;
    await expect(
      againOnConflict(async () => {
        runs += 1;
        throw conflict('23505');
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(runs).toBe(1);
  });
});
