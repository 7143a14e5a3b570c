import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newIdAt } from '../src/ids';
import { migrationsFolder } from '../src/migrate';
import {
  awayFromUtcMidnight,
  currentTestDriver,
  MIDNIGHT_MARGIN_MS,
  postgresUnavailable,
  testDatabaseUrl,
  withDatabase,
} from '../src/testing';

/*
 * Migration 0005 turns events, deliveries and delivery_attempts into day-partitioned tables.
 * A database built at 0004 and populated (old rows and today's) is migrated: every row is kept,
 * old rows land in the legacy partition, today's in today's, and the foreign keys still cascade.
 */

/** The migrations folder cut after `last` (its journal entry index). */
function migrationsUpTo(last: number): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'herald-migrations-'));
  cpSync(migrationsFolder, dir, { recursive: true });
  const journalFile = path.join(dir, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: Array<{ idx: number }> };
  journal.entries = journal.entries.filter((e) => e.idx <= last);
  writeFileSync(journalFile, JSON.stringify(journal));
  return dir;
}

interface Target {
  query<T>(text: string): Promise<T[]>;
  migrate(folder: string): Promise<void>;
  close(): Promise<void>;
}

async function openTarget(): Promise<Target> {
  if (currentTestDriver() === 'pglite') {
    const pglite = await PGlite.create('memory://');
    return {
      query: async (text) => (await pglite.query(text)).rows as never,
      migrate: (folder) => migratePglite(drizzlePglite(pglite), { migrationsFolder: folder }),
      close: () => pglite.close(),
    };
  }
  const admin = postgres(testDatabaseUrl(), { max: 1, onnotice: () => {} });
  const name = `herald_t_${process.pid}_${randomBytes(6).toString('hex')}`;
  await admin.unsafe(`create database ${name}`);
  const client = postgres(withDatabase(testDatabaseUrl(), name), { max: 1, onnotice: () => {} });
  return {
    query: async (text) => (await client.unsafe(text)) as never,
    migrate: (folder) => migratePostgres(drizzlePostgres(client), { migrationsFolder: folder }),
    close: async () => {
      await client.end();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

const snapshot = (db: Target) =>
  Promise.all([
    db.query('select * from events order by id'),
    db.query('select * from deliveries order by id'),
    db.query('select * from delivery_attempts order by id'),
  ]);

describe.skipIf(postgresUnavailable())(
  `migrating a populated database to partitioned history [${currentTestDriver()}]`,
  () => {
    let db: Target;
    let folder04: string;
    beforeAll(async () => {
      // Today's rows must land in today's partition: not a suite to start as the day turns.
      await awayFromUtcMidnight();
      db = await openTarget();
      folder04 = migrationsUpTo(4);
    }, MIDNIGHT_MARGIN_MS + 60_000);
    afterAll(async () => {
      await db?.close();
      rmSync(folder04, { recursive: true, force: true });
    });

    it('keeps every event, delivery and attempt, in the partition of its day', async () => {
      await db.migrate(folder04);
      const old = Date.parse('2025-01-15T10:00:00Z');
      const now = Date.now();
      await db.query(`insert into projects (id, name) values ('prj_1', 'p')`);
      await db.query(`insert into endpoints (id, project_id, url) values ('ep_1', 'prj_1', 'https://example.com/a')`);
      const rows: string[] = [];
      for (const [i, at] of [old, old + 1000, now - 1000, now].entries()) {
        const evt = newIdAt('event', at);
        const dlv = newIdAt('delivery', at);
        // An attempt minted later than its delivery, as attempts were before this migration.
        const att = newIdAt('attempt', at + 60_000);
        rows.push(evt, dlv, att);
        await db.query(`insert into events (id, project_id, type, version, data, subject, sequence, is_test, created_at)
        values ('${evt}', 'prj_1', 'user.created', 1, '{"user":{"id":"usr_${i}"}}', 'usr_${i}', ${i + 1}, false, to_timestamp(${at / 1000}))`);
        await db.query(`insert into deliveries (id, project_id, endpoint_id, event_id, status, attempt_count, next_attempt_at, last_status_code, created_at)
        values ('${dlv}', 'prj_1', 'ep_1', '${evt}', '${i % 2 ? 'pending' : 'succeeded'}', 1, now(), 500, to_timestamp(${at / 1000}))`);
        await db.query(`insert into delivery_attempts (id, delivery_id, attempt_number, started_at, duration_ms, status_code, response_body)
        values ('${att}', '${dlv}', 1, to_timestamp(${at / 1000}), 12, 500, 'nope ${i}')`);
      }
      const before = await snapshot(db);

      await db.migrate(migrationsFolder);

      // The same rows; events gain payload_expired_at, null (no payload has expired yet), and
      // deliveries wakes_next, false (nothing was parked: migration 0015), and excerpts_erased, false
      // (no erasure caught one in flight: migration 0016).
      const [beforeEvents, beforeDeliveries, ...rest] = before;
      expect(await snapshot(db)).toEqual([
        (beforeEvents as object[]).map((e) => ({ ...e, payload_expired_at: null })),
        (beforeDeliveries as object[]).map((d) => ({ ...d, wakes_next: false, excerpts_erased: false })),
        ...rest,
      ]);
      const placed = await db.query<{ table: string; n: number }>(
        `select tableoid::regclass::text as table, count(*)::int as n from events group by 1 order by 1`,
      );
      // Before the migration's day: legacy; from it on: that day's partition.
      const dayStart = Date.parse(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
      const expected = new Map<string, number>();
      for (const at of [old, old + 1000, now - 1000, now]) {
        const table =
          at < dayStart ? 'events_legacy' : `events_p${new Date(at).toISOString().slice(0, 10).replaceAll('-', '')}`;
        expected.set(table, (expected.get(table) ?? 0) + 1);
      }
      expect(placed).toEqual(
        [...expected].map(([table, n]) => ({ table, n })).sort((a, b) => a.table.localeCompare(b.table)),
      );
      const [kind] = await db.query<{ relkind: string }>(`select relkind from pg_class where relname = 'deliveries'`);
      expect(kind?.relkind).toBe('p');

      // Foreign keys to the project cascade into the partitioned tables. Attempts have none (nothing
      // points across the history tables since 0009, so retention drops days whole): they stay
      // until their day is dropped, found by no read (reads go through their delivery).
      await db.query(`delete from projects where id = 'prj_1'`);
      const [eventsLeft, deliveriesLeft, attemptsLeft] = await snapshot(db);
      expect([eventsLeft, deliveriesLeft]).toEqual([[], []]);
      expect(attemptsLeft).toHaveLength(before[2]!.length);
    });
  },
);
