import { endpointSecrets, executeRows } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { asc, eq, sql } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { startHerald, waitFor } from './harness';

describeDb('endpoint secret rotation under concurrency', (t) => {
  it('six concurrent rotations with graceSeconds 0 leave exactly one secret without expiry', async () => {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    const { endpoint, secret: original } = await p.createEndpoint({ url: 'http://127.0.0.1:9/hook' });
    const rotate = () =>
      p.call<{ secret: string; previousSecretExpiresAt: string }>(`/v1/endpoints/${endpoint.id}/rotate-secret`, 200, {
        json: { graceSeconds: 0 },
      });

    let rotations: Promise<{ secret: string }[]>;
    if (t.driver === 'postgres') {
      // Make the race certain rather than likely: hold the current secret's row while all six
      // rotations start, and let go only once every one of them waits on a lock.
      const held = await t.db.transaction(async (tx) => {
        await tx.select().from(endpointSecrets).where(eq(endpointSecrets.endpointId, endpoint.id)).for('update');
        const started = Promise.all(Array.from({ length: 6 }, rotate));
        await waitFor(
          async () => {
            const [row] = await executeRows<{ waiting: number }>(
              t.db,
              sql`select count(*)::int as waiting from pg_stat_activity
                  where datname = current_database() and wait_event_type = 'Lock'`,
            );
            return row!.waiting >= 6;
          },
          { message: 'six rotations waiting on a lock' },
        );
        // Wrapped: returning the promise itself would make the transaction wait for it.
        return { started };
      });
      rotations = held.started;
    } else {
      // PGlite runs one statement at a time; the rotations still overlap at the request level.
      rotations = Promise.all(Array.from({ length: 6 }, rotate));
    }
    const issued = (await rotations).map((r) => r.secret);
    expect(new Set(issued).size).toBe(6);

    const rows = await t.db
      .select()
      .from(endpointSecrets)
      .where(eq(endpointSecrets.endpointId, endpoint.id))
      .orderBy(asc(endpointSecrets.id));
    const current = rows.filter((r) => r.expiresAt === null);
    // Unserialised, parallel rotations each expired the same old row and inserted their own:
    // several "current" secrets that never expire, all signing.
    expect(current.map((r) => r.secret)).toHaveLength(1);
    expect(issued).toContain(current[0]!.secret);
    expect(await p.call(`/v1/endpoints/${endpoint.id}/secret`, 200)).toEqual({ secret: current[0]!.secret });
    // Every other secret, the original included, has stopped signing (grace 0: expired at once).
    const now = Date.now();
    for (const row of rows) {
      if (row.expiresAt !== null) expect(row.expiresAt.getTime()).toBeLessThanOrEqual(now);
    }
    expect(rows.filter((r) => r.secret === original && r.expiresAt === null)).toEqual([]);
  });
});
