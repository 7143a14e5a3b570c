import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import type { HeraldDb } from '../src/client';
import { createDb } from '../src/client';
import { isDatabaseUnavailable } from '../src/errors';
import { currentTestDriver, postgresUnavailable, testDatabaseUrl } from '../src/testing';

describe.skipIf(currentTestDriver() !== 'postgres' || postgresUnavailable())(
  'createDb on PostgreSQL: timeouts and reconnection [postgres]',
  () => {
    const opened: HeraldDb[] = [];
    const open = async (options: Parameters<typeof createDb>[0] = {}) => {
      const herald = await createDb({ url: testDatabaseUrl(), migrate: false, ...options });
      opened.push(herald);
      return herald;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((h) => h.close()));
    });

    it('every connection carries the statement and idle-in-transaction timeouts', async () => {
      const { sql } = await open();
      const [row] = await sql!<{ statement: string; idle: string }[]>`
        select current_setting('statement_timeout') as statement,
               current_setting('idle_in_transaction_session_timeout') as idle`;
      expect(row).toEqual({ statement: '30s', idle: '1min' });
    });

    it('a statement over the timeout fails as "unavailable", not as a hang', async () => {
      const { sql } = await open({ statementTimeoutMs: 200 });
      const error = await sql!`select pg_sleep(2)`.then(
        () => null,
        (e: unknown) => e,
      );
      expect((error as { code?: string }).code).toBe('57014');
      expect(isDatabaseUnavailable(error)).toBe(true);
    });

    it('statementTimeoutMs 0 leaves the server setting', async () => {
      const { sql } = await open({ statementTimeoutMs: 0 });
      const [row] = await sql!<{ statement: string }[]>`select current_setting('statement_timeout') as statement`;
      expect(row?.statement).toBe('0');
    });

    it('LISTEN comes back by itself after its connection is terminated', async () => {
      const { sql } = await open();
      const channel = `herald_test_${randomBytes(4).toString('hex')}`;
      const received: string[] = [];
      await sql!.listen(channel, (payload) => received.push(payload));
      const killer = postgres(testDatabaseUrl(), { max: 1, onnotice: () => {} });
      try {
        const terminated = await killer<{ pid: number }[]>`
          select pg_terminate_backend(pid) as pid from pg_stat_activity
          where query = ${`listen "${channel}"`} and pid <> pg_backend_pid()`;
        expect(terminated).toHaveLength(1);
        // Notifications sent while it reconnects are lost (LISTEN has no backlog); keep sending until one arrives.
        const deadline = Date.now() + 5_000;
        while (received.length === 0 && Date.now() < deadline) {
          await killer`select pg_notify(${channel}, 'after')`;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(received).toContain('after');
      } finally {
        await killer.end({ timeout: 1 });
      }
    });
  },
);
