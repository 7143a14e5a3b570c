import { createDb } from '@herald/db';
import postgres from 'postgres';

/** Admin connection: databases for each benchmark are created (and dropped) through it. */
export const adminUrl =
  process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

export class BenchSetupError extends Error {}

/** The same server as `base`, another database. */
export function withDatabase(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

function admin() {
  return postgres(adminUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
}

/** Fails with a clear message when no real PostgreSQL answers; returns the server version. */
export async function checkPostgres(): Promise<string> {
  if (!/^postgres(ql)?:\/\//.test(adminUrl)) {
    throw new BenchSetupError(
      `pnpm bench needs a real PostgreSQL server (embedded PGlite is not benchmarked).\n` +
        `Set BENCH_DATABASE_URL (or DATABASE_URL) to a postgres:// URL of a role that may CREATE DATABASE; got ${redact(adminUrl)}.`,
    );
  }
  const sql = admin();
  try {
    const [row] = await sql<{ version: string; cancreate: boolean }[]>`
      select current_setting('server_version') as version,
             (select rolcreatedb or rolsuper from pg_roles where rolname = current_user) as cancreate`;
    if (!row?.cancreate)
      throw new BenchSetupError(`The role in ${redact(adminUrl)} may not CREATE DATABASE; pnpm bench needs it.`);
    return row.version;
  } catch (error) {
    if (error instanceof BenchSetupError) throw error;
    throw new BenchSetupError(
      `pnpm bench needs a real PostgreSQL server and could not reach ${redact(adminUrl)}: ${(error as Error).message}\n` +
        `Start PostgreSQL or set BENCH_DATABASE_URL (or DATABASE_URL) to an admin connection string, e.g. postgres://postgres@127.0.0.1:5432/postgres.`,
    );
  } finally {
    await sql.end({ timeout: 2 });
  }
}

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

const live = new Set<string>();

/** A fresh, migrated database `herald_bench_<label>_<pid>`. */
export async function createBenchDatabase(label: string): Promise<BenchDatabase> {
  const name = `herald_bench_${label.replace(/\W/g, '_')}_${process.pid}`.toLowerCase();
  const sql = admin();
  try {
    await sql.unsafe(`drop database if exists ${name} with (force)`);
    await sql.unsafe(`create database ${name}`);
  } finally {
    await sql.end({ timeout: 2 });
  }
  live.add(name);
  const url = withDatabase(adminUrl, name);
  const herald = await createDb({ url, maxConnections: 1 }); // runs the migrations
  await herald.close();
  return { name, url, drop: () => dropDatabase(name) };
}

async function dropDatabase(name: string): Promise<void> {
  const sql = admin();
  try {
    await sql.unsafe(`drop database if exists ${name} with (force)`);
    live.delete(name);
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/** Drops every database this run created and has not dropped yet (on errors and Ctrl-C). */
export async function dropAllBenchDatabases(): Promise<void> {
  for (const name of [...live]) await dropDatabase(name).catch(() => {});
}

/**
 * Committed transactions of one database so far. Backends flush their counters
 * when they go idle (at most once a second) or exit, so close the pools that
 * did the work, then read.
 */
export async function xactCommits(url: string): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<
      { n: string }[]
    >`select xact_commit::text as n from pg_stat_database where datname = current_database()`;
    return Number(row?.n ?? 0);
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/**
 * `VACUUM (ANALYZE)` of a contender's whole database between runs (never timed): every run leaves
 * dead rows behind (pg-boss's and graphile-worker's finished jobs, the bench's own clearing,
 * Herald's finished deliveries), and autovacuum, which would clean them up in a long-running
 * deployment, wakes only once a minute: without this, the run after a clearing read the
 * previous runs' dead rows (pg-boss fell from 7,900 to 1,200 jobs/s over five rounds).
 */
export async function vacuumDatabase(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe('vacuum (analyze)');
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/** Single-row INSERT commits per second from one client: how fast this server's fsync is. */
export async function probeCommitRate(url: string, ms = 1000): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql`create table bench_commit_probe (id serial primary key, v text)`;
    let n = 0;
    const started = performance.now();
    while (performance.now() - started < ms) {
      await sql`insert into bench_commit_probe (v) values ('x')`;
      n++;
    }
    const rate = (n * 1000) / (performance.now() - started);
    await sql`drop table bench_commit_probe`;
    return rate;
  } finally {
    await sql.end({ timeout: 2 });
  }
}
