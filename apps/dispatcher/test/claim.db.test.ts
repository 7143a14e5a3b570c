import { createDb, deliveries, recordEvent } from '@herald/db';
import type { Database, HeraldDb } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { eq } from 'drizzle-orm';
import { expect, it, onTestFinished } from 'vitest';
import { claimDueDeliveries } from '../src/claim-due-deliveries';
import { defaultRetryPolicy } from '../src/retry-schedule';
import { recordAttempt } from '../src/record-attempt';
import type { AttemptResult } from '../src/http/send-webhook';
import { sleep, startHerald } from './harness';

const ok: AttemptResult = { ok: true, statusCode: 200, durationMs: 5, errorClass: null, errorMessage: null, responseBody: 'ok', retryAfterSeconds: null };
const recordOptions = (owner: string) => ({ owner, retryPolicy: defaultRetryPolicy, failureWindowMs: 86_400_000, startedAt: new Date() });

function user(n: number) {
  const now = new Date().toISOString();
  return { id: `usr_claim_${n}`, email: `claim${n}@example.com`, name: null, roles: [], metadata: {}, status: 'active' as const, createdAt: now, updatedAt: now };
}

describeDb('claiming due deliveries (leases and SKIP LOCKED)', (t) => {
  async function queue(n: number) {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    const { endpoint, secret } = await p.createEndpoint({ url: 'http://127.0.0.1:9/never-called', headers: { 'X-A': 'b' } });
    await t.db.transaction(async (tx) => {
      for (let i = 0; i < n; i++) await recordEvent(tx, { projectId: p.id, type: 'user.deleted', data: { user: user(i) } });
    });
    return { p, endpoint, secret };
  }

  it('hands out the event, the endpoint and its secrets with each claimed delivery', async () => {
    const { p, endpoint, secret } = await queue(1);
    const [claimed] = await claimDueDeliveries(t.db, { limit: 5, leaseMs: 60_000, owner: 'w1' });
    expect(claimed).toMatchObject({
      projectId: p.id,
      attemptCount: 0,
      scheduleOffset: 0,
      event: { type: 'user.deleted', version: 1, data: { user: { id: 'usr_claim_0' } } },
      endpoint: { id: endpoint.id, url: 'http://127.0.0.1:9/never-called', headers: { 'X-A': 'b' }, disabled: false },
      secrets: [secret],
    });
    expect(claimed!.event.createdAt).toBeInstanceOf(Date);
    await t.db.update(deliveries).set({ status: 'failed', leaseOwner: null }).where(eq(deliveries.projectId, p.id));
  });

  it('an expired lease makes a delivery due again; the worker that lost it cannot complete it', async () => {
    const { p } = await queue(1);
    const [mine] = await claimDueDeliveries(t.db, { limit: 1, leaseMs: 1, owner: 'slow-worker' });
    expect(mine).toBeDefined();
    await sleep(20);
    const [theirs] = await claimDueDeliveries(t.db, { limit: 1, leaseMs: 60_000, owner: 'fast-worker' });
    expect(theirs?.id).toBe(mine!.id);

    // The slow worker's answer arrives late: logged, but it does not move the delivery on.
    expect(await recordAttempt(t.db, mine!, ok, recordOptions('slow-worker'))).toEqual({ outcome: 'lease_lost', eventsEmitted: 0 });
    const [row] = await p.deliveryRows();
    expect(row).toMatchObject({ status: 'in_flight', leaseOwner: 'fast-worker', attemptCount: 0 });
    expect(await recordAttempt(t.db, theirs!, ok, recordOptions('fast-worker'))).toEqual({ outcome: 'succeeded', eventsEmitted: 0 });
    expect((await p.deliveryRows())[0]).toMatchObject({ status: 'succeeded', leaseOwner: null, attemptCount: 1 });
    expect(await p.attemptRows(row!.id)).toHaveLength(2);
    // Done is done: nothing is due any more.
    expect(await claimDueDeliveries(t.db, { limit: 10, leaseMs: 1, owner: 'anyone' })).toEqual([]);
  });

  it('concurrent claimers never take the same delivery twice', async () => {
    const N = 120;
    const { p } = await queue(N);
    // On PostgreSQL every claimer has its own connection, as separate dispatchers would.
    const pools: HeraldDb[] = [];
    const dbs: Database[] = [];
    for (let i = 0; i < 6; i++) {
      if (t.driver === 'postgres') {
        const pool = await createDb({ url: t.url!, migrate: false, maxConnections: 1 });
        pools.push(pool);
        dbs.push(pool.db);
      } else dbs.push(t.db);
    }
    onTestFinished(async () => {
      await Promise.all(pools.map((pool) => pool.close()));
    });
    const taken = new Map<string, string>();
    const duplicates: string[] = [];
    await Promise.all(
      dbs.map(async (db, i) => {
        for (;;) {
          const batch = await claimDueDeliveries(db, { limit: 7, leaseMs: 60_000, owner: `claimer-${i}` });
          if (batch.length === 0) return;
          for (const d of batch) {
            if (taken.has(d.id)) duplicates.push(d.id);
            taken.set(d.id, `claimer-${i}`);
          }
        }
      }),
    );
    expect(duplicates).toEqual([]);
    expect(taken.size).toBe(N);
    const rows = await p.deliveryRows();
    expect(rows.every((r) => r.status === 'in_flight' && r.leaseOwner === taken.get(r.id))).toBe(true);
    await t.db.update(deliveries).set({ status: 'failed', leaseOwner: null }).where(eq(deliveries.projectId, p.id));
  });
});
