import type { HeraldDb } from '@herald/db';
import { createDb, deliveryAttempts } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { recordEvent } from '@herald/delivery';
import { sql } from 'drizzle-orm';
import { expect, it, onTestFinished } from 'vitest';
import { startHerald, userSnapshot } from './harness';

describeDb('several dispatchers on one database', (t) => {
  it('two dispatchers deliver 200 events between them, each exactly once', async () => {
    // Small per-dispatcher capacity and a receiver that takes a moment, so that
    // both dispatchers are busy at once and really compete for the same rows.
    // Timeouts far above the receiver's 5 ms: on a loaded machine PGlite (in this process) can hold
    // the event loop for seconds, and a timed-out first attempt is a retry, not a second dispatcher.
    const config = { concurrency: 8, batchSize: 4, requestTimeoutMs: 15_000, leaseMs: 30_000 };
    const h = await startHerald(t, { dispatcher: config, start: false });
    const receiver = await h.receiver(() => ({ status: 200, delayMs: 5 }));
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: receiver.url });

    // On PostgreSQL the second dispatcher gets its own connection pool, like another process.
    const other: HeraldDb | null = t.driver === 'postgres' ? await createDb({ url: t.url!, migrate: false }) : null;
    const second = h.addDispatcher({ db: other?.db ?? t.db, config });
    onTestFinished(async () => {
      await second.stop();
      await other?.close();
    });
    await Promise.all([h.dispatcher.start(), second.start()]);

    const N = 200;
    // Events written in batches of 20 per transaction, the way the outbox is fed.
    for (let batch = 0; batch < N / 20; batch++) {
      await t.db.transaction(async (tx) => {
        for (let i = 0; i < 20; i++) {
          await recordEvent(tx, { projectId: p.id, type: 'user.deleted', data: { user: exampleUser(batch * 20 + i) } });
        }
      });
      h.wakeup.notify();
    }

    const rows = await p.settled({ expected: N, timeoutMs: 45_000 });
    expect(rows.every((r) => r.status === 'succeeded' && r.attemptCount === 1)).toBe(true);
    expect(rows.every((r) => r.endpointId === endpoint.id)).toBe(true);

    // The receiver saw every event exactly once.
    expect(receiver.requests).toHaveLength(N);
    const perId = new Map<string, number>();
    for (const r of receiver.requests) perId.set(r.webhookId, (perId.get(r.webhookId) ?? 0) + 1);
    expect(perId.size).toBe(N);
    expect([...perId.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(rows.map((r) => r.eventId))).toEqual(new Set(perId.keys()));

    // One attempt row per delivery, and both dispatchers did part of the work.
    const [attempts] = await t.db
      .select({ n: sql<number>`count(*)::int` })
      .from(deliveryAttempts)
      .where(sql`${deliveryAttempts.deliveryId} in (select id from deliveries where project_id = ${p.id})`);
    expect(Number(attempts!.n)).toBe(N);
    const a = h.dispatcher.metrics.outcomeCount('succeeded');
    const b = second.metrics.outcomeCount('succeeded');
    expect(a + b).toBe(N);
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
    expect(h.dispatcher.metrics.outcomeCount('lease_lost') + second.metrics.outcomeCount('lease_lost')).toBe(0);
  });
});

const exampleUser = (i: number) => userSnapshot(`usr_${i}`, `user${i}@example.com`);
