import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import type { HeraldDb } from '@herald/db';
import { createDb, executeRows, users } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { and, eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { Tenant } from './harness';
import { createTenant, createTestApp, tenantFor, uniqueEmail } from './harness';

/**
 * Idempotent POSTs in flight when their database connections die. The
 * in-flight mark must go with the connection: a retry with the same key,
 * through the same API process or another one (the first died with the
 * database), runs within seconds of the database's return, and each change
 * is made exactly once.
 *
 * PostgreSQL only: embedded PGlite cannot lose its database under a running
 * process. The backends are killed with `pg_terminate_backend`; the real
 * restart (`pg_ctlcluster … restart`) interrupts every other suite using the
 * server, so it runs only with HERALD_RESTART_TESTS=1.
 */
/** As many as one project may hold transactions for at once (half of half the pool of 10); a fourth would wait for a turn. */
const REQUESTS = 3;
/** The bound: each retry succeeds within this of the database's return. */
const RETRY_DEADLINE_MS = 30_000;
const restartTests = process.env.HERALD_RESTART_TESTS === '1';

describeDb('idempotent POSTs cut off with their database connections', (t) => {
  const postgresOnly = t.driver !== 'postgres';

  async function openProcess(): Promise<HeraldDb> {
    return createDb({ url: t.url!, migrate: false });
  }

  /** Holds inserts into users back until released: the requests stay in flight, each on its own backend. */
  async function holdUserInserts() {
    const holder = await openProcess();
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holding = holder.db
      .transaction(async (tx) => {
        await tx.execute(sql`lock table users in exclusive mode`);
        locked();
        await released;
      })
      .catch(() => {}); // a restart ends it
    // The requests go out only once the lock is held: on a loaded machine they could otherwise finish first.
    await Promise.race([lockTaken, holding]);
    return {
      release: async () => {
        release();
        await holding;
        await holder.close().catch(() => {});
      },
    };
  }

  async function blockedBackends(): Promise<number[]> {
    const rows = await executeRows<{ pid: number }>(
      t.db,
      sql`select pid from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
    );
    return rows.map((r) => r.pid);
  }

  async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = await probe().catch(() => undefined);
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /**
   * `REQUESTS` POSTs with keys through process A, held in flight; `outage` cuts them off; then each is
   * retried with its key through A (`same`) or through another process while A is gone (`other`).
   */
  async function cutOffAndRetry(outage: () => Promise<void>, retryThrough: 'same' | 'other') {
    const tenant = await createTenant(t.db);
    const processA = await openProcess();
    const viaA = tenantFor(createTestApp(processA.db), tenant.projectId, tenant.apiKey, tenant.apiKeyId);
    const sent = Array.from({ length: REQUESTS }, (_, i) => ({
      key: `restart-${i}-${tenant.projectId}`,
      body: { email: uniqueEmail(`restart${i}`) },
    }));
    const post = (via: Tenant, { key, body }: (typeof sent)[number]) =>
      via.request('/v1/users', { json: body, headers: { 'idempotency-key': key } });

    const held = await holdUserInserts();
    const first = sent.map((request) => post(viaA, request).then((r) => r.status));
    try {
      await until('the requests to wait on the lock', async () =>
        (await blockedBackends()).length >= REQUESTS ? true : undefined,
      );
      await outage();
    } finally {
      // Released even when the test fails here, so the next test does not wait behind this lock.
      await held.release();
    }
    if (retryThrough === 'other') await processA.close(); // A died with its database: it cleans nothing up
    const back = await until('the database', async () => {
      await t.db.execute(sql`select 1`);
      return Date.now();
    });
    // Each first attempt was cut off (503) or, had it slipped through, made its change (201).
    for (const status of await Promise.all(first)) expect([201, 503]).toContain(status);

    const retrying = retryThrough === 'same' ? viaA : tenant;
    const answered = await Promise.all(
      sent.map(async (request) => {
        let status = 0;
        while (Date.now() - back < RETRY_DEADLINE_MS) {
          status = (await post(retrying, request)).status;
          if (status !== 409 && status !== 503) break;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        return { status, afterMs: Date.now() - back };
      }),
    );
    for (const { status, afterMs } of answered) {
      expect(status).toBe(201);
      expect(afterMs).toBeLessThan(RETRY_DEADLINE_MS);
    }
    for (const { body } of sent) {
      const rows = await t.db
        .select()
        .from(users)
        .where(and(eq(users.projectId, tenant.projectId), eq(users.email, body.email)));
      expect(rows).toHaveLength(1);
    }
    if (retryThrough === 'same') await processA.close();
  }

  const terminateBlockedBackends = async () => {
    const killed = await executeRows<{ terminated: boolean }>(
      t.db,
      sql`select pg_terminate_backend(pid) as terminated from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock'`,
    );
    expect(killed.filter((k) => k.terminated).length).toBeGreaterThanOrEqual(REQUESTS);
  };

  describe.skipIf(postgresOnly)('pg_terminate_backend on the requests’ backends', () => {
    it('retried through the same process: each runs within 30 s, once', () =>
      cutOffAndRetry(terminateBlockedBackends, 'same'));
    it('retried through another process while the first is gone: each runs within 30 s, once', () =>
      cutOffAndRetry(terminateBlockedBackends, 'other'));
  });

  describe.skipIf(postgresOnly || !restartTests)(
    'a real restart: pg_ctlcluster … restart (HERALD_RESTART_TESTS=1)',
    () => {
      const restartCluster = async () => {
        const version = readdirSync('/etc/postgresql').sort().at(-1)!;
        await promisify(execFile)('pg_ctlcluster', [
          '--skip-systemctl-redirect',
          version,
          'main',
          'restart',
          '-m',
          'fast',
        ]);
      };
      it('retried through the same process: each runs within 30 s, once', () => cutOffAndRetry(restartCluster, 'same'));
      it('retried through another process while the first is gone: each runs within 30 s, once', () =>
        cutOffAndRetry(restartCluster, 'other'));
    },
  );
});
