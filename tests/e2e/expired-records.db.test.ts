import { executeRows } from '@herald/db';
import { currentTestDriver, describeDb } from '@herald/db/testing';
import { runMaintenance } from '@herald/delivery';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { expect, it } from 'vitest';
import { startHerald, uniqueEmail } from './harness';

/*
 * Retention of the short-lived records: an idempotency key's stored answer (a created user's
 * email in it) goes once the key expires (24 h), a failed login's throttle row and a portal link
 * or session a day after they ended. Made through the API, aged by moving the maintenance's clock.
 */

const HOUR = 3_600_000;
const maintainAt = (db: Parameters<typeof runMaintenance>[0], aheadMs: number) =>
  runMaintenance(db, { retentionMs: 30 * 24 * HOUR, partitionsAheadDays: 2, now: new Date(Date.now() + aheadMs) });

describeDb('expired records', (t) => {
  it('deletes expired idempotency answers, login throttles and portal links and sessions, and nothing live', async () => {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    const email = uniqueEmail('kept-for-a-day');
    const created = await p.call('/v1/users', 201, { json: { email }, headers: { 'idempotency-key': 'create-once' } });
    await p.call('/v1/logins', 401, { json: { email: uniqueEmail('nobody'), password: 'not the password' } });
    await p.call('/v1/portal-sessions', 201, { json: {} });
    const count = async (table: string) => {
      const [row] = await executeRows<{ n: number }>(
        h.db,
        sql`select count(*)::int as n from ${sql.identifier(table)} where project_id = ${p.id}`,
      );
      return row!.n;
    };
    // A portal session of this project, as opening the link makes it (hashed token, 12 h).
    await h.db.execute(sql`insert into portal_sessions (token_hash, kind, project_id, expires_at)
                           values (${`session-${p.id}`}, 'project', ${p.id}, now() + interval '12 hours')`);
    const tables = ['idempotency_keys', 'login_throttles', 'portal_links', 'portal_sessions'];
    expect(await Promise.all(tables.map(count))).toEqual([1, 1, 1, 1]);

    // An hour later everything still counts: nothing is deleted.
    const early = await maintainAt(h.db, HOUR);
    expect(early.purged).toEqual({ idempotencyKeys: 0, loginThrottles: 0, portalLinks: 0, portalSessions: 0 });
    expect(await Promise.all(tables.map(count))).toEqual([1, 1, 1, 1]);
    const replay = await p.request('/v1/users', { json: { email }, headers: { 'idempotency-key': 'create-once' } });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await replay.json()).toEqual(created);

    // Two days later: the key expired (24 h), the throttle, link and session ended more than a day ago.
    const late = await maintainAt(h.db, 49 * HOUR);
    expect(late.purged.idempotencyKeys).toBeGreaterThanOrEqual(1);
    expect(late.purged.loginThrottles).toBeGreaterThanOrEqual(1);
    expect(late.purged.portalLinks).toBeGreaterThanOrEqual(1);
    expect(late.purged.portalSessions).toBeGreaterThanOrEqual(1);
    expect(await Promise.all(tables.map(count))).toEqual([0, 0, 0, 0]);
    const [stored] = await executeRows<{ n: number }>(
      h.db,
      sql`select count(*)::int as n from idempotency_keys where response_body like ${`%${email}%`}`,
    );
    expect(stored!.n).toBe(0);
  });

  // PGlite has one connection: nothing else can hold a row while maintenance runs.
  it.skipIf(currentTestDriver() !== 'postgres')(
    'skips a throttle row a login holds (never waits on it), and keeps one whose window restarted',
    async () => {
      const h = await startHerald(t, { start: false });
      const p = await h.project();
      const aged = async (key: string) =>
        h.db.execute(sql`insert into login_throttles (project_id, key, failures, window_started_at)
                         values (${p.id}, ${key}, 3, now() - interval '3 days')`);
      await aged('account:held@example.com');
      await aged('account:restarted@example.com');
      const login = postgres(t.url!, { max: 1, onnotice: () => {} });
      try {
        const held = login.reserve();
        const tx = await held;
        await tx`begin`;
        // A login counting a failure: the row is locked, and its window restarts.
        await tx`update login_throttles set failures = 1, window_started_at = now()
                 where project_id = ${p.id} and key = 'account:restarted@example.com'`;
        await tx`select 1 from login_throttles where project_id = ${p.id} and key = 'account:held@example.com' for update`;
        const report = await maintainAt(h.db, 0);
        expect(report.purged.loginThrottles).toBe(0);
        await tx`commit`;
        tx.release();
        const again = await maintainAt(h.db, 0);
        expect(again.purged.loginThrottles).toBe(1);
        const left = await executeRows<{ key: string }>(
          h.db,
          sql`select key from login_throttles where project_id = ${p.id}`,
        );
        expect(left.map((r) => r.key)).toEqual(['account:restarted@example.com']);
      } finally {
        await login.end({ timeout: 5 });
      }
    },
  );
});
