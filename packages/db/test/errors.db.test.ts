import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../src/client';
import { isDatabaseUnavailable } from '../src/errors';
import { currentTestDriver, postgresUnavailable, testDatabaseUrl, withDatabase } from '../src/testing';

/** The error of one query through `createDb`'s pool, as the API runs them (drizzle around postgres.js). */
async function errorOfQuery(url: string): Promise<unknown> {
  const herald = await createDb({ url, migrate: false, connectTimeoutMs: 5_000 });
  try {
    return await herald.db.execute(sql`select 1`).then(
      () => null,
      (error: unknown) => error,
    );
  } finally {
    await herald.close();
  }
}

describe.skipIf(currentTestDriver() !== 'postgres' || postgresUnavailable())(
  'isDatabaseUnavailable on what PostgreSQL answers a new connection [postgres]',
  () => {
    // The herald_t_<pid>_ prefix lets a later run drop it if this one is killed.
    const name = `herald_t_${process.pid}_${randomBytes(6).toString('hex')}`;
    let admin: postgres.Sql;
    beforeAll(async () => {
      admin = postgres(testDatabaseUrl(), { max: 1, onnotice: () => {} });
      await admin.unsafe(`create database ${name}`);
    });
    afterAll(async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end({ timeout: 5 });
    });

    it('is true while the database refuses connections (ALLOW_CONNECTIONS false: 55000)', async () => {
      await admin.unsafe(`alter database ${name} allow_connections false`);
      try {
        const error = await errorOfQuery(withDatabase(testDatabaseUrl(), name));
        expect(error).toMatchObject({ cause: { code: '55000' } });
        expect(isDatabaseUnavailable(error)).toBe(true);
      } finally {
        await admin.unsafe(`alter database ${name} allow_connections true`);
      }
    });

    it('is true once the database is dropped (3D000)', async () => {
      const missing = `${name}_dropped`;
      await admin.unsafe(`create database ${missing}`);
      await admin.unsafe(`drop database ${missing}`);
      const error = await errorOfQuery(withDatabase(testDatabaseUrl(), missing));
      expect(error).toMatchObject({ cause: { code: '3D000' } });
      expect(isDatabaseUnavailable(error)).toBe(true);
    });
  },
);
