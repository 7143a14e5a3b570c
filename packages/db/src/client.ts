import { chmodSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { migratePgliteDatabase, migratePostgresDatabase } from './migrate';
import { lockDataDir } from './pglite-lock';
import { takeTurns } from './pglite-turns';
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
  /**
   * In-memory PGlite only: start from this copy of a database (`pglite.dumpDataDir()`), e.g. one
   * migrated once for a whole test run (about 0.5 s to load against 2–3.5 s to migrate).
   */
  loadDataDir?: Blob;
  /** postgres.js pool size. */
  maxConnections?: number;
  /** Apply pending migrations before returning (default true). */
  migrate?: boolean;
  /** PostgreSQL: how long opening a connection may take before its query fails (default 5 s). */
  connectTimeoutMs?: number;
  /** PostgreSQL `statement_timeout` of every connection; 0 leaves the server's (default 30 s). */
  statementTimeoutMs?: number;
  /** PostgreSQL `idle_in_transaction_session_timeout`; 0 leaves the server's (default 60 s). */
  idleInTransactionTimeoutMs?: number;
}

/**
 * Bounds on waiting for PostgreSQL. While the database restarts, queries
 * fail within these instead of hanging, and callers answer "unavailable".
 */
export const defaultDbTimeouts = {
  connectTimeoutMs: 5_000,
  statementTimeoutMs: 30_000,
  idleInTransactionTimeoutMs: 60_000,
} as const;

/**
 * Seconds before a pooled connection tries again after failing to connect.
 * postgres.js's default grows to 20 s after a few failures, so a restart of a
 * second or two would hold queries for up to 20 s after the database is back;
 * this one grows from 50 ms to at most 1 s (with jitter).
 */
export function reconnectBackoff(retries: number): number {
  return Math.min(0.05 * 2 ** retries, 1) * (0.5 + Math.random() / 2);
}

const drivers = new WeakMap<Database, Driver>();

/** Which driver a database made by `createDb` runs on (undefined for any other object). */
export function driverOf(db: Database): Driver | undefined {
  return drivers.get(db);
}

const poolSizes = new WeakMap<Database, number>();

/** The connections of a PostgreSQL database's main pool (undefined for PGlite and any other object). */
export function poolSizeOf(db: Database): number | undefined {
  return poolSizes.get(db);
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
  const d = defaultDbTimeouts;
  const pool = (max: number, planCacheMode: 'auto' | 'force_generic_plan') =>
    postgres(url, {
      max,
      onnotice: () => {},
      connect_timeout: (options.connectTimeoutMs ?? d.connectTimeoutMs) / 1000,
      backoff: reconnectBackoff,
      // Startup parameters; postgres.js leaves out zeros, so 0 keeps the server's setting.
      connection: {
        application_name: 'herald',
        statement_timeout: options.statementTimeoutMs ?? d.statementTimeoutMs,
        idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs ?? d.idleInTransactionTimeoutMs,
        // Short statements, run often: JIT compiling one costs far more than running it. A claim's
        // estimated cost over many day partitions passes jit_above_cost, and each claim then spent
        // hundreds of ms compiling (seen in the growth benchmark).
        jit: 'off',
        // PostgreSQL's own choice (`auto`) on the main pool: a prepared statement is planned with
        // its values five times, then once without them (the generic plan), which is kept when it
        // is estimated cheaper than those plans (each charged for its planning). A statement over
        // the day-partitioned history keeps planning with its values: its generic plan covers
        // every partition (~16 ms to plan at 63 partitions, once per connection) and is estimated
        // as reading them all, so it loses (in a young database with a few partitions it may win,
        // and is then cheap). A statement that touches no partitions (the API's create, a read by
        // id) plans once per connection: planning the create with its values cost 200 µs of
        // PostgreSQL CPU per request, more than running it. Until 2026-12-04 every statement was
        // planned with its values (`force_custom_plan`).
        plan_cache_mode: planCacheMode,
      },
    });
  const poolSize = options.maxConnections ?? 10;
  const sql = pool(poolSize, 'auto');
  const db = drizzlePostgres(sql, { schema }) as unknown as Database;
  drivers.set(db, 'postgres');
  poolSizes.set(db, poolSize);
  channelListeners.set(db, async (channel, onPayload) => (await sql.listen(channel, onPayload)).unlisten);
  // Two connections that plan generically, opened on first use (`executeHotRows(…, 'generic')`:
  // the dispatcher's claim and its outcome writes, one of each at a time), so those statements
  // need no transaction to set it. Two, so a claim never queues behind an outcome write whose
  // commit waits for a slow disk.
  let generic: { sql: postgres.Sql; db: Database } | null = null;
  let closed = false;
  genericPlanners.set(db, () => {
    // After close, statements fail on the closed pool rather than open a connection nothing ends.
    if (closed) return db;
    if (!generic) {
      const genericSql = pool(2, 'force_generic_plan');
      // Through drizzle, so its rows are parsed as the main pool's are.
      generic = { sql: genericSql, db: drizzlePostgres(genericSql, { schema }) as unknown as Database };
    }
    return generic.db;
  });
  return {
    db,
    driver: 'postgres',
    sql,
    pglite: null,
    close: async () => {
      closed = true;
      await Promise.all([sql.end({ timeout: 5 }), generic?.sql.end({ timeout: 5 })]);
    },
  };
}

const channelListeners = new WeakMap<
  Database,
  (channel: string, onPayload: (payload: string) => void) => Promise<() => Promise<void>>
>();

/**
 * LISTENs on `channel` through a PostgreSQL database `createDb` made (postgres.js keeps one
 * connection for every LISTEN of its pool and listens again after a reconnect), and calls
 * `onPayload` with each NOTIFY's payload. Resolves to the way to stop; null when there is nothing to
 * listen to (PGlite: one process, which made the change itself).
 */
export async function listenToChannel(
  db: Queryable,
  channel: string,
  onPayload: (payload: string) => void,
): Promise<(() => Promise<void>) | null> {
  const listen = channelListeners.get(db as Database);
  return listen ? listen(channel, onPayload) : null;
}

/** For each PostgreSQL database `createDb` made: its connection that plans generically. */
const genericPlanners = new WeakMap<Database, () => Database>();

/** The database's connection for statements planned once per connection (undefined: not one `createDb` made on PostgreSQL). */
export function genericPlannerOf(db: Queryable): Database | undefined {
  return genericPlanners.get(db as Database)?.();
}

/**
 * The data directory, made or kept readable by its owner alone: PGlite writes its files (tables,
 * WAL: signing secrets and endpoint header values among them) world-readable (0666), so only the
 * directory's mode keeps other local users out. As PostgreSQL does with its data directory, one
 * that is open to others is closed (0700) when this process owns it.
 */
function ownerOnly(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const stat = statSync(dataDir);
  if ((stat.mode & 0o077) !== 0 && stat.uid === process.getuid?.()) chmodSync(dataDir, 0o700);
}

async function openPglite(options: CreateDbOptions): Promise<HeraldDb> {
  let dataDir = options.dataDir ?? path.resolve('.data/pglite');
  let release = () => {};
  if (!dataDir.startsWith('memory://')) {
    ownerOnly(dataDir);
    // Its real path: PGlite cannot open a directory through a symlink (ErrnoError 44), and the
    // lock must be the same file however the directory is named.
    dataDir = realpathSync(dataDir);
    release = lockDataDir(dataDir);
  }
  if (options.loadDataDir && !dataDir.startsWith('memory://')) {
    throw new Error('loadDataDir is for in-memory PGlite only (dataDir memory://)');
  }
  let pglite: PGlite;
  try {
    pglite = options.loadDataDir
      ? await PGlite.create({ dataDir, loadDataDir: options.loadDataDir })
      : await PGlite.create(dataDir);
  } catch (error) {
    release();
    throw error;
  }
  takeTurns(pglite);
  const db = drizzlePglite(pglite, { schema }) as unknown as Database;
  drivers.set(db, 'pglite');
  return {
    db,
    driver: 'pglite',
    sql: null,
    pglite,
    close: async () => {
      if (!pglite.closed) await pglite.close();
      release();
    },
  };
}
