import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, inject } from 'vitest';
import type { Database, Driver, HeraldDb } from '../client';
import { createDb } from '../client';
import { testDatabaseUrl, withDatabase } from './postgres-url';
import './provided-context';

export { testDatabaseUrl, withDatabase } from './postgres-url';

export interface TestDb {
  readonly herald: HeraldDb;
  readonly db: Database;
  readonly driver: Driver;
  /** Connection string of this file's own database (postgres driver only). */
  readonly url: string | null;
}

export function currentTestDriver(): Driver {
  const driver = process.env.HERALD_TEST_DRIVER ?? 'pglite';
  if (driver !== 'pglite' && driver !== 'postgres') throw new Error(`unknown HERALD_TEST_DRIVER ${driver}`);
  return driver;
}

/**
 * A fresh, migrated database of the driver under test: in-memory PGlite, or
 * a PostgreSQL database copied from the run's template. The caller closes it
 * with `dispose`.
 */
export async function openTestDb(): Promise<TestDb & { dispose(): Promise<void> }> {
  if (currentTestDriver() === 'pglite') {
    // A copy of the run's migrated template when the PGlite global setup made one (vitest.config.ts).
    const template = inject('pgliteTemplateFile');
    const herald = template
      ? await createDb({ dataDir: 'memory://', loadDataDir: new Blob([await readFile(template)]), migrate: false })
      : await createDb({ dataDir: 'memory://' });
    return { herald, db: herald.db, driver: 'pglite', url: null, dispose: () => herald.close() };
  }
  const template = inject('postgresTemplateDatabase');
  if (!template) throw new Error('PostgreSQL is not available for this run');
  // The pid lets a later run tell a killed run's leftovers from a live run's databases.
  const name = `herald_t_${process.pid}_${randomBytes(6).toString('hex')}`;
  const adminUrl = testDatabaseUrl();
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name} template ${template}`);
  const url = withDatabase(adminUrl, name);
  const herald = await createDb({ url, migrate: false });
  return {
    herald,
    db: herald.db,
    driver: 'postgres',
    url,
    dispose: async () => {
      await herald.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end({ timeout: 5 });
    },
  };
}

/** Postgres runs skip, visibly, when the run found no PostgreSQL. */
export function postgresUnavailable(): boolean {
  return currentTestDriver() === 'postgres' && !inject('postgresTemplateDatabase');
}

/**
 * How close to 00:00 UTC a database suite may start. Day partitions, retention and compaction go
 * by the UTC day: a suite that writes rows today and then names today's partition (or counts
 * what retention keeps) fails if the day turns under it, so one that would start this close
 * waits for the new day instead (at most this long, once per run in practice: the files
 * starting meanwhile wait for the same midnight).
 */
export const MIDNIGHT_MARGIN_MS = 150_000;

/** How long to wait at `now` so as not to start within `marginMs` of the next 00:00 UTC (0 if far from it). */
export function waitBeforeUtcMidnight(now: number, marginMs = MIDNIGHT_MARGIN_MS): number {
  const DAY = 86_400_000;
  const untilMidnight = DAY - (now % DAY);
  // One second past midnight, so that `now` in the suite is surely in the new day.
  return untilMidnight <= marginMs ? untilMidnight + 1_000 : 0;
}

/** Waits for the new UTC day when it is less than `MIDNIGHT_MARGIN_MS` away (in a `beforeAll` with a timeout above it). */
export async function awayFromUtcMidnight(): Promise<void> {
  const waitMs = waitBeforeUtcMidnight(Date.now());
  if (waitMs === 0) return;
  console.warn(`a database suite waits ${Math.ceil(waitMs / 1000)} s for 00:00 UTC (day partitions turn over)`);
  await new Promise((resolve) => setTimeout(resolve, waitMs));
}

/**
 * A describe block that owns one database for the whole file section, on
 * the driver of the current Vitest project (`pglite` or `postgres`).
 */
export function describeDb(name: string, body: (ctx: TestDb) => void): void {
  const label = `${name} [${currentTestDriver()}]`;
  describe.skipIf(postgresUnavailable())(label, () => {
    let opened: (TestDb & { dispose(): Promise<void> }) | undefined;
    const ctx: TestDb = {
      get herald() {
        return required().herald;
      },
      get db() {
        return required().db;
      },
      get driver() {
        return currentTestDriver();
      },
      get url() {
        return required().url;
      },
    };
    function required() {
      if (!opened) throw new Error('test database is not open yet (use it inside hooks or tests)');
      return opened;
    }
    beforeAll(async () => {
      await awayFromUtcMidnight();
      opened = await openTestDb();
    }, MIDNIGHT_MARGIN_MS + 60_000);
    afterAll(async () => {
      await opened?.dispose();
    });
    body(ctx);
  });
}

/**
 * A promise opened by hand: one side of a race test waits on `opened` (a transaction holding a
 * lock, say) until the other side calls `open()`.
 */
export function gate(): { opened: Promise<void>; open(): void } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}
