import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { currentTestDriver, postgresUnavailable, testDatabaseUrl } from '../src/testing';

/*
 * The cases patches/postgres@3.4.9.patch fixes, each reproduced on real
 * PostgreSQL by terminating the test's own backend. Unpatched, the first
 * kills the process (an uncaught TypeError from an immediate, which Vitest
 * reports as an unhandled error) and the others hang or answer the wrong
 * query.
 */
const HANG = 'HANG';
const within = <T>(promise: Promise<T>, ms = 3000) =>
  Promise.race([promise, new Promise<typeof HANG>((resolve) => setTimeout(() => resolve(HANG), ms).unref())]);
const codeOf = (error: unknown) => (error as { code?: string }).code ?? String(error);

describe.skipIf(currentTestDriver() !== 'postgres' || postgresUnavailable())(
  'postgres.js when a backend goes away [postgres]',
  () => {
    const clients: postgres.Sql[] = [];
    const open = (options: postgres.Options<Record<string, never>> = {}) => {
      const sql = postgres(testDatabaseUrl(), { onnotice: () => {}, ...options });
      clients.push(sql);
      return sql;
    };
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((sql) => sql.end({ timeout: 1 })));
    });

    async function terminate(killer: postgres.Sql, pid: number) {
      await killer`select pg_terminate_backend(${pid})`;
    }

    it('a reserved connection whose backend died rejects its next queries instead of crashing the process', async () => {
      const sql = open({ max: 2 });
      const killer = open({ max: 1 });
      const reserved = await sql.reserve();
      const [row] = await reserved<{ pid: number }[]>`select pg_backend_pid() as pid`;
      await terminate(killer, row!.pid);
      const first = await within(reserved`select 1`.then(() => 'ok', codeOf));
      const second = await within(reserved`select 1`.then(() => 'ok', codeOf));
      expect([first, second]).not.toContain(HANG);
      expect(second).toBe('CONNECTION_CLOSED');
      // Not released: postgres.js 3.4.9 puts a released dead connection back into its pool (PR #1168's notes).
    });

    it('a transaction whose backend died rejects, and the pool answers the next query', async () => {
      const sql = open({ max: 1 });
      const killer = open({ max: 1 });
      for (let round = 0; round < 5; round++) {
        const outcome = await within(
          sql
            .begin(async (tx) => {
              const [row] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
              await terminate(killer, row!.pid);
              await tx`select 1`;
            })
            .then(() => 'committed', codeOf),
        );
        expect(outcome).not.toBe(HANG);
        expect(outcome).not.toBe('committed');
        expect(await within(sql`select ${round}::int as n`.then((r) => r[0]?.n))).toBe(round);
      }
    });

    it('a query sent between the socket error and its close settles, and later queries get their own answers', async () => {
      for (let round = 0; round < 8; round++) {
        const sql = open({ max: 1, fetch_types: false });
        const killer = open({ max: 1 });
        const [row] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
        await terminate(killer, row!.pid);
        let b: Promise<string> = Promise.resolve('not sent');
        // No await between A's failure and B: B goes out on the dying connection.
        await sql`select 'A' as v`.then(
          () => {},
          () => {
            b = sql`select 'B' as v`.then((r) => String(r[0]?.v), codeOf);
          },
        );
        await new Promise((resolve) => setTimeout(resolve, 100));
        const c = await within(sql`select 'C' as v`.then((r) => String(r[0]?.v), codeOf));
        const d = await within(sql`select 'D' as v`.then((r) => String(r[0]?.v), codeOf));
        expect({ b: await within(b), c, d }).toEqual({ b: expect.not.stringMatching(HANG), c: 'C', d: 'D' });
      }
    });
  },
);
