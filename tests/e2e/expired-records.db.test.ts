import { executeRows } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { runMaintenance } from '@herald/delivery';
import { sql } from 'drizzle-orm';
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
});
