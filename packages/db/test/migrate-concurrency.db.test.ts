import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { is } from 'drizzle-orm';
import { PgTable } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { migrationsFolder } from '../src/migrate';
import * as schema from '../src/schema';
import { currentTestDriver, postgresUnavailable, testDatabaseUrl, withDatabase } from '../src/testing';

const run = promisify(execFile);
const script = fileURLToPath(new URL('./fixtures/migrate-once.ts', import.meta.url));
const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));

// Two PGlite processes must never share a directory, so this race only
// exists on PostgreSQL.
describe.skipIf(currentTestDriver() !== 'postgres' || postgresUnavailable())(
  'migrations started by two processes at once [postgres]',
  () => {
    it('both processes succeed and every migration is applied once', async () => {
      const admin = postgres(testDatabaseUrl(), { max: 1, onnotice: () => {} });
      const name = `herald_t_${process.pid}_${randomBytes(6).toString('hex')}`;
      await admin.unsafe(`create database ${name}`);
      const url = withDatabase(testDatabaseUrl(), name);
      try {
        const results = await Promise.all([run(tsx, [script, url]), run(tsx, [script, url])]);
        for (const { stdout } of results) expect(stdout).toContain('migrated');

        const journal = JSON.parse(readFileSync(`${migrationsFolder}/meta/_journal.json`, 'utf8')) as {
          entries: unknown[];
        };
        const db = postgres(url, { max: 1 });
        const applied = await db`select count(*)::int as n from drizzle.__drizzle_migrations`;
        const tables = await db`select count(*)::int as n from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition`;
        await db.end();
        expect(applied[0]?.n).toBe(journal.entries.length);
        // Every table of the schema, created once.
        expect(tables[0]?.n).toBe(Object.values(schema).filter((v) => is(v, PgTable)).length);
      } finally {
        await admin.unsafe(`drop database if exists ${name} with (force)`);
        await admin.end();
      }
    }, 60_000);
  },
);
