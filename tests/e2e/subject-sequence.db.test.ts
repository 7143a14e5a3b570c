import type { HeraldDb } from '@herald/db';
import { createDb, events } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { recordEvent } from '@herald/delivery';
import { asc, eq } from 'drizzle-orm';
import { expect, it, onTestFinished } from 'vitest';
import { startHerald, userSnapshot } from './harness';

/*
 * Sequence numbers follow commit order, whatever the writers' clocks: two
 * "API processes" whose clocks are 2 s apart change one user alternately.
 * Event ids (made from each process's clock) get the order wrong; the
 * per-subject sequence does not.
 */

const user = (id: string) => userSnapshot(id, 'seq@example.com');

describeDb('per-subject sequence numbers', (t) => {
  it('strictly increase in commit order across writers with clocks 2 s apart', async () => {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    // On PostgreSQL the second writer is another connection pool, like another process.
    const other: HeraldDb | null = t.driver === 'postgres' ? await createDb({ url: t.url!, migrate: false }) : null;
    onTestFinished(() => other?.close());
    const writers = [
      { db: t.db, clock: () => new Date(Date.now() + 2_000) }, // runs 2 s fast
      { db: other?.db ?? t.db, clock: () => new Date() },
    ];
    const subject = 'usr_sequence1';
    const committed: string[] = [];
    for (let i = 0; i < 10; i++) {
      const w = writers[i % 2]!;
      const recorded = await w.db.transaction((tx) =>
        recordEvent(tx, {
          projectId: p.id,
          type: 'user.updated',
          data: { user: user(subject), changedFields: ['name'] },
          now: w.clock(),
        }),
      );
      committed.push(recorded.id);
    }
    const rows = await t.db.select().from(events).where(eq(events.projectId, p.id)).orderBy(asc(events.sequence));
    expect(rows.map((r) => r.id)).toEqual(committed);
    expect(rows.map((r) => Number(r.sequence))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(rows.every((r) => r.subject === subject)).toBe(true);
    // The writers' clocks alone would have put the fast writer's events first.
    const byClock = [...rows].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()).map((r) => r.id);
    expect(byClock).not.toEqual(committed);
  });

  it.runIf(t.driver === 'postgres')(
    'a writer that commits later gets the later number, even if it began first',
    async () => {
      const h = await startHerald(t, { start: false });
      const p = await h.project();
      const other = await createDb({ url: t.url!, migrate: false });
      onTestFinished(() => other.close());
      const subject = 'usr_sequence2';
      await t.db.transaction((tx) =>
        recordEvent(tx, {
          projectId: p.id,
          type: 'user.updated',
          data: { user: user(subject), changedFields: ['name'] },
        }),
      );

      // A records first and holds its transaction open; B records meanwhile (it waits for A's
      // counter row) and commits after A: B's number is A's plus one.
      let releaseA: () => void = () => {};
      const aHolds = new Promise<void>((resolve) => {
        releaseA = resolve;
      });
      let aRecorded: () => void = () => {};
      const aHasRecorded = new Promise<void>((resolve) => {
        aRecorded = resolve;
      });
      const a = t.db.transaction(async (tx) => {
        const r = await recordEvent(tx, {
          projectId: p.id,
          type: 'user.updated',
          data: { user: user(subject), changedFields: ['name'] },
        });
        aRecorded();
        await aHolds;
        return r;
      });
      await aHasRecorded;
      const b = other.db.transaction((tx) =>
        recordEvent(tx, {
          projectId: p.id,
          type: 'user.updated',
          data: { user: user(subject), changedFields: ['name'] },
          now: new Date(Date.now() - 5_000),
        }),
      );
      await new Promise((r) => setTimeout(r, 200));
      releaseA();
      const [ra, rb] = await Promise.all([a, b]);
      const rows = await t.db.select().from(events).where(eq(events.projectId, p.id));
      const seq = (id: string) => Number(rows.find((r) => r.id === id)!.sequence);
      expect(seq(ra.id)).toBe(2);
      expect(seq(rb.id)).toBe(3);
    },
  );
});
