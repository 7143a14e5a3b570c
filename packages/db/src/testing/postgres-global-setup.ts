import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { migratePostgresDatabase } from '../migrate';
import { testDatabaseUrl, withDatabase } from './postgres-url';

import './provided-context';
import { processIsAlive } from '../pglite-lock';

/**
 * Migrates one template database for the run; each test file then gets its
 * own copy (`CREATE DATABASE … TEMPLATE`), which takes milliseconds.
 */
export default async function setup(project: TestProject) {
  const adminUrl = testDatabaseUrl();
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    await admin`select 1`;
  } catch (error) {
    await admin.end({ timeout: 1 }).catch(() => {});
    const message = `PostgreSQL is not reachable at ${redact(adminUrl)} (${(error as Error).message})`;
    if (process.env.HERALD_REQUIRE_POSTGRES === '1') {
      throw new Error(`${message}; HERALD_REQUIRE_POSTGRES=1 makes this a failure.`);
    }
    console.warn(
      `\n  ⚠ SKIPPING the PostgreSQL runs: ${message}.\n  Set TEST_DATABASE_URL, or start PostgreSQL, to run them.\n`,
    );
    project.provide('postgresTemplateDatabase', null);
    return;
  }

  await dropStaleTestDatabases(admin);
  // One per project (a driver's suites that run alone have their own project, set up alongside).
  const template = `herald_tpl_${process.pid}_${project.name.replace(/\W/g, '_')}`;
  await admin.unsafe(`drop database if exists ${template} with (force)`);
  await admin.unsafe(`create database ${template}`);
  await migratePostgresDatabase(withDatabase(adminUrl, template));
  project.provide('postgresTemplateDatabase', template);

  return async () => {
    await admin.unsafe(`drop database if exists ${template} with (force)`);
    await admin.end({ timeout: 5 });
  };
}

/**
 * Databases left by runs that were killed. Names carry the creating
 * process's pid, so databases of runs still going are left alone.
 */
async function dropStaleTestDatabases(admin: postgres.Sql) {
  const stale = await admin<{ datname: string }[]>`
    select datname from pg_database
    where datname like 'herald\\_t\\_%' or datname like 'herald\\_tpl\\_%'`;
  for (const { datname } of stale) {
    const pid = Number(/^herald_(?:t|tpl)_(\d+)/.exec(datname)?.[1]);
    if (Number.isInteger(pid) && processIsAlive(pid)) continue;
    await admin.unsafe(`drop database if exists ${datname} with (force)`).catch(() => {});
  }
}

function redact(url: string) {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
