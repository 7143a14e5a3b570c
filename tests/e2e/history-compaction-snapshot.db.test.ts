import { randomBytes } from 'node:crypto';
import { createDb, executeRows, newId, newIdAt } from '@herald/db';
import type { TestDb } from '@herald/db/testing';
import { describeDb, testDatabaseUrl } from '@herald/db/testing';
import { COMPACTED_MARKER, refreshQueueWindow, runMaintenance } from '@herald/delivery';
import { sql } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { waitFor } from './harness';

/*
 * A rewrite copies every row version an open transaction could still read. While a transaction
 * begun before the payloads were cleared stays open (a backup, a report, a long write anywhere in
 * the cluster), compacting the day would copy the cleared payloads too and mark the day done with
 * nothing given back. Maintenance leaves the day for a later run instead, and compacts it once
 * that transaction is over. Two such transactions: a report reading this database in repeatable
 * read, and a write in another database of the cluster (the rewrite's own snapshot starts at the
 * oldest transaction running anywhere: a `CREATE DATABASE` copying a template did this in CI).
 */

const DAY = 86_400_000;
const in8Days = () => new Date(Date.now() + 8 * DAY);
const today = () => `p${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`;
const maintenance = { retentionMs: 30 * DAY, payloadRetentionMs: 7 * DAY, partitionsAheadDays: 7 };

interface Holder {
  name: string;
  url: (t: TestDb) => string;
  /** Runs in the holder's transaction before the payloads are cleared. */
  begin: string;
  isolationLevel: 'read committed' | 'repeatable read';
}

const holders: Holder[] = [
  // It reads no history table, so it holds no lock the rewrite would wait for.
  {
    name: 'a report in repeatable read',
    url: (t) => t.url!,
    begin: 'select count(*) from projects',
    isolationLevel: 'repeatable read',
  },
  {
    name: 'a write in another database',
    url: () => testDatabaseUrl(),
    begin: 'select pg_current_xact_id()',
    isolationLevel: 'read committed',
  },
];

for (const holder of holders) {
  describeDb(`compaction waits for ${holder.name} begun before the payloads were cleared`, (t) => {
    it('leaves the day unmarked while the transaction is open, then gives the space back', async () => {
      if (t.driver !== 'postgres') return; // PGlite is one connection: no other transaction is ever open.
      const project = newId('project');
      const endpoint = newId('endpoint');
      await t.db.execute(sql`insert into projects (id, name) values (${project}, 'p')`);
      await t.db.execute(
        sql`insert into endpoints (id, project_id, url) values (${endpoint}, ${project}, 'https://example.com/h')`,
      );
      // A day of 40 events of 1 KB, delivered, each with an attempt holding a 1 KB excerpt.
      for (let i = 0; i < 40; i++) {
        const at = Date.now();
        const event = newIdAt('event', at);
        const delivery = newIdAt('delivery', at);
        const note = randomBytes(500).toString('hex');
        await t.db.execute(sql`insert into events (id, project_id, type, version, data)
                             values (${event}, ${project}, 'user.created', 1, ${JSON.stringify({ note })}::jsonb)`);
        await t.db.execute(sql`insert into deliveries (id, project_id, endpoint_id, event_id, status)
                             values (${delivery}, ${project}, ${endpoint}, ${event}, 'succeeded')`);
        await t.db.execute(sql`insert into delivery_attempts
                               (id, delivery_id, attempt_number, started_at, duration_ms, status_code, response_body)
                             values (${newIdAt('attempt', at)}, ${delivery}, 1, now(), 3, 200, ${note})`);
      }
      await refreshQueueWindow(t.db, in8Days());
      const events = `events_${today()}`;
      const attempts = `delivery_attempts_${today()}`;
      const size = async (table: string) =>
        Number(
          (await executeRows<{ n: string }>(t.db, sql`select pg_relation_size(${table}::regclass)::text as n`))[0]!.n,
        );
      const marker = async (table: string) =>
        (
          await executeRows<{ c: string | null }>(
            t.db,
            sql`select obj_description(${table}::regclass, 'pg_class') as c`,
          )
        )[0]!.c;
      const before = { events: await size(events), attempts: await size(attempts) };

      const reader = await createDb({ url: holder.url(t), migrate: false });
      let finish = () => {};
      const finished = new Promise<void>((resolve) => {
        finish = resolve;
      });
      let opened = () => {};
      const open = new Promise<void>((resolve) => {
        opened = resolve;
      });
      const report = reader.db.transaction(
        async (tx) => {
          await tx.execute(sql.raw(holder.begin));
          opened();
          await finished;
        },
        { isolationLevel: holder.isolationLevel },
      );
      try {
        await open;
        // Attempts and events were written (their payloads cleared) after the holder's snapshot: the
        // run stops at the first table held and neither is rewritten. (Deliveries were not: they go
        // or are held too, as other transactions of the cluster, such as other test files', decide.)
        for (let run = 0; run < 2; run++) {
          const held = await runMaintenance(t.db, { ...maintenance, now: in8Days() });
          if (run === 0) expect(held.expiredPayloads).toEqual({ events: 40, attempts: 40 });
          expect(held.compactionHeld).toHaveLength(1);
          expect(held.compacted).not.toContain(attempts);
          expect(held.compacted).not.toContain(events);
          for (const table of [events, attempts]) expect(await marker(table)).toBeNull();
        }
      } finally {
        finish();
        await report;
        await reader.close();
      }

      // Once it is over: compacted, as soon as no other transaction of the cluster holds it back.
      const compacted: string[] = [];
      await waitFor(
        async () => {
          const run = await runMaintenance(t.db, { ...maintenance, now: in8Days() });
          compacted.push(...run.compacted);
          return run.compactionHeld.length === 0;
        },
        { timeoutMs: 60_000, intervalMs: 100, message: 'compaction held' },
      );
      expect(compacted).toEqual(expect.arrayContaining([attempts, events]));
      expect(await size(events)).toBeLessThan(before.events / 2);
      expect(await size(attempts)).toBeLessThan(before.attempts / 2);
      for (const table of [`deliveries_${today()}`, attempts, events])
        expect(await marker(table)).toBe(COMPACTED_MARKER);
    });
  });
}
