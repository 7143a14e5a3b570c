import { randomBytes } from 'node:crypto';
import { executeRows } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { COMPACTED_MARKER, refreshQueueWindow, runMaintenance } from '@herald/delivery';
import { sql } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { startHerald, waitFor } from './harness';

/*
 * Payload retention clears payloads in place, which frees nothing on disk: a past day's tables
 * keep their size until the day is dropped. Once every event of a day is past payload retention
 * and holds no payload, maintenance rewrites the day's three tables once (and marks them), so the
 * space comes back weeks before retention drops the day. The clock is moved 8 days ahead, and the
 * queue window refreshed as a dispatcher would leave it then (claims read every day from its floor
 * on, so only days below it are rewritten).
 */

const DAY = 86_400_000;
const in8Days = () => new Date(Date.now() + 8 * DAY);
const today = () => `p${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`;
const maintenance = { retentionMs: 30 * DAY, payloadRetentionMs: 7 * DAY, partitionsAheadDays: 7 };

describeDb('compaction after payload retention', (t) => {
  const heapBytes = async (table: string) =>
    Number((await executeRows<{ n: string }>(t.db, sql`select pg_relation_size(${table}::regclass)::text as n`))[0]!.n);
  const fileNode = async (table: string) =>
    (await executeRows<{ n: string }>(t.db, sql`select pg_relation_filenode(${table}::regclass)::text as n`))[0]!.n;
  const marker = async (table: string) =>
    (
      await executeRows<{ c: string | null }>(t.db, sql`select obj_description(${table}::regclass, 'pg_class') as c`)
    )[0]!.c;

  it('rewrites a day once all its payloads are cleared, keeps its metadata, and never twice', async () => {
    const h = await startHerald(t);
    // Excerpts of 1 KB, and payloads of 1 KB that do not compress: the space a day gives back.
    const receiver = await h.receiver(() => ({ status: 200, body: randomBytes(512).toString('hex') }));
    const p = await h.project();
    await p.createEndpoint({ url: receiver.url });
    const users = 40;
    for (let i = 0; i < users; i++) {
      await p.call('/v1/users', 201, {
        json: { email: `u${i}-${Date.now()}@example.com`, metadata: { note: randomBytes(500).toString('hex') } },
      });
    }
    const settled = await p.settled({ expected: users });
    expect(settled.every((d) => d.status === 'succeeded')).toBe(true);

    // One more event, its delivery still pending: it keeps its payload, so the day is not rewritten.
    await h.dispatcher.stop();
    await p.createUser();
    // The queue window's floor above the day, so only the payload that event still holds keeps it.
    await t.db.execute(
      sql`update delivery_queue_window set floor_at = ${new Date(in8Days().getTime() - 3_600_000).toISOString()}::timestamptz`,
    );
    const first = await runMaintenance(t.db, { ...maintenance, now: in8Days() });
    expect(first.expiredPayloads.events).toBe(users);
    expect(first.compacted).toEqual([]);
    const events = `events_${today()}`;
    const attempts = `delivery_attempts_${today()}`;
    const before = { events: await heapBytes(events), attempts: await heapBytes(attempts) };
    expect(await marker(events)).toBeNull();

    // Delivered: the last payload expires and the day is rewritten, its three tables in one run.
    const restarted = h.addDispatcher();
    await restarted.start();
    const all = await p.settled({ expected: users + 1 });
    expect(all.every((d) => d.status === 'succeeded')).toBe(true);
    await restarted.stop();
    // A claim could still read the day while the queue window's floor lies below it.
    await t.db.execute(
      sql`update delivery_queue_window set floor_at = ${new Date(Date.now() - 86_400_000).toISOString()}::timestamptz`,
    );
    const blocked = await runMaintenance(t.db, { ...maintenance, now: in8Days() });
    expect(blocked).toMatchObject({ compacted: [], expiredPayloads: { events: 1 } });
    await refreshQueueWindow(t.db, in8Days());
    // Tables too large to hold locked while they are rewritten are left as they are.
    const tooLarge = await runMaintenance(t.db, { ...maintenance, now: in8Days(), compactMaxTableBytes: 8192 });
    expect(tooLarge.compacted).toEqual([]);
    // Another file's transaction (a CREATE DATABASE copying the template) can hold the rewrite
    // back for a while (history-compaction-snapshot.db.test.ts): runs until none is held.
    const compacted: string[] = [];
    await waitFor(
      async () => {
        const run = await runMaintenance(t.db, { ...maintenance, now: in8Days() });
        expect(run.expiredPayloads.events).toBe(0);
        compacted.push(...run.compacted);
        return run.compactionHeld.length === 0;
      },
      { timeoutMs: 60_000, intervalMs: 100, message: 'compaction held' },
    );
    expect([...compacted].sort()).toEqual([`deliveries_${today()}`, attempts, events].sort());
    expect(await heapBytes(events)).toBeLessThan(before.events / 2);
    expect(await heapBytes(attempts)).toBeLessThan(before.attempts / 2);
    for (const table of compacted) expect(await marker(table)).toBe(COMPACTED_MARKER);

    // The metadata stayed: every event, delivery and attempt reads as before, payload expired.
    const listed = await p.events('user.created');
    expect(listed).toHaveLength(users + 1);
    for (const event of listed) expect(event).toMatchObject({ payloadExpired: true, data: {} });
    const delivery = await p.delivery(all[0]!.id);
    expect(delivery).toMatchObject({ status: 'succeeded', payloadExpired: true, attemptCount: 1 });
    expect(delivery.attempts[0]).toMatchObject({ statusCode: 200, responseBody: null });

    // Once: the next run leaves the rewritten tables alone.
    const node = await fileNode(events);
    const third = await runMaintenance(t.db, { ...maintenance, now: in8Days() });
    expect(third.compacted).toEqual([]);
    expect(await fileNode(events)).toBe(node);
  });
});
