import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { migratePgliteDatabase, migratePostgresDatabase } from './migrate';
import * as schema from './schema';

export type Schema = typeof schema;

/** The one database type every package codes against, whatever the driver. */
export type Database = PgDatabase<PgQueryResultHKT, Schema>;
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];
/** A query runner: the database itself or an open transaction. */
export type Queryable = Database | Transaction;

export type Driver = 'postgres' | 'pglite';

export interface HeraldDb {
  db: Database;
  driver: Driver;
  /** postgres.js client (postgres driver only), for LISTEN/NOTIFY. */
  sql: postgres.Sql | null;
  /** The PGlite instance (pglite driver only). */
  pglite: PGlite | null;
  close(): Promise<void>;
}

export interface CreateDbOptions {
  /** PostgreSQL connection string; without it Herald runs on embedded PGlite. */
  url?: string;
  /** PGlite directory; `'memory://'` for a throw-away database. Default `.data/pglite`. */
  dataDir?: string;
  /** postgres.js pool size. */
  maxConnections?: number;
  /** Apply pending migrations before returning (default true). */
  migrate?: boolean;
}

export async function createDb(options: CreateDbOptions = {}): Promise<HeraldDb> {
  const migrate = options.migrate !== false;
  if (options.url) {
    if (migrate) await migratePostgresDatabase(options.url);
    return openPostgres(options.url, options);
  }
  const herald = await openPglite(options);
  if (migrate) {
    try {
      await migratePgliteDatabase(herald.pglite!);
    } catch (error) {
      await herald.close();
      throw error;
    }
  }
  return herald;
}

function openPostgres(url: string, options: CreateDbOptions): HeraldDb {
  const sql = postgres(url, {
    max: options.maxConnections ?? 10,
    onnotice: () => {},
    // Herald stores timestamps as timestamptz; keep them as Date objects.
    connection: { application_name: 'herald' },
  });
  const db = drizzlePostgres(sql, { schema }) as unknown as Database;
  return {
    db,
    driver: 'postgres',
    sql,
    pglite: null,
    close: () => sql.end({ timeout: 5 }),
  };
}

async function openPglite(options: CreateDbOptions): Promise<HeraldDb> {
  const dataDir = options.dataDir ?? path.resolve('.data/pglite');
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir);
  const db = drizzlePglite(pglite, { schema }) as unknown as Database;
  return {
    db,
    driver: 'pglite',
    sql: null,
    pglite,
    close: async () => {
      if (!pglite.closed) await pglite.close();
    },
  };
}
