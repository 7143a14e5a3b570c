import { createDb, events, newId, newIdAt } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { recordEvent, runMaintenance } from '@herald/delivery';
import type { UserSnapshot } from '@herald/events';
import { eq, sql } from 'drizzle-orm';
import { expect, it, onTestFinished } from 'vitest';
import { createTenant, deferred, expectApiError, expectJson, type Tenant, uniqueEmail } from './harness';

const DAY = 86_400_000;

/*
 * GET /v1/events is a feed a poller follows with `after=<last id>`. Event ids
 * are made before commit and transactions commit out of order, so the feed
 * must never hand out an event after one that sorts later. These tests make
 * exactly that happen and check that a poller still sees every event once.
 */

type FeedPage = { data: { id: string; type: string; data: unknown }[]; nextCursor: string | null };

const WRITERS = 12;
/** Commit order of the writers (by the order their event ids were made): far from id order. */
const COMMIT_ORDER = [5, 2, 9, 0, 11, 7, 3, 10, 1, 8, 6, 4];
/** The order in which the writers' transactions get their ids (PostgreSQL): neither id nor commit order. */
const TXID_ORDER = [7, 0, 10, 3, 11, 1, 6, 9, 2, 4, 8, 5];

function snapshot(label: string): UserSnapshot {
  const now = new Date().toISOString();
  return {
    id: newId('user'),
    email: uniqueEmail(label),
    name: null,
    roles: [],
    metadata: {},
    status: 'active',
    createdAt: now,
    updatedAt: now,
  };
}

/** A poller as the README describes it: `after=<last id it saw>`, following `nextCursor` within one poll. */
function poller(tenant: Tenant) {
  const seen: string[] = [];
  return {
    seen,
    async poll(): Promise<void> {
      const after = seen.at(-1);
      let query = `limit=5${after ? `&after=${after}` : ''}`;
      for (;;) {
        const page = await expectJson<FeedPage>(await tenant.request(`/v1/events?${query}`), 200);
        seen.push(...page.data.map((e) => e.id));
        if (!page.nextCursor) return;
        query = `limit=5&cursor=${page.nextCursor}`;
      }
    },
    /** Polls until `count` events were seen; other test files' transactions may hold the feed back a while. */
    async pollUntil(count: number): Promise<void> {
      for (const deadline = Date.now() + 30_000; seen.length < count && Date.now() < deadline; ) {
        await this.poll();
        if (seen.length < count) await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

describeDb('event feed', (t) => {
  it('ids made first, committed in shuffled order one transaction at a time: a poller following after= sees every event once', async () => {
    const tenant = await createTenant(t.db);
    const poll = poller(tenant);
    // Made before any of them commits, in this order: what a slow transaction does to its event id.
    const ids = Array.from({ length: WRITERS }, () => newId('event'));
    for (const writer of COMMIT_ORDER) {
      await t.db.transaction(async (tx) => {
        await tx.insert(events).values({
          id: ids[writer]!,
          projectId: tenant.projectId,
          type: 'user.created',
          version: 1,
          data: { user: snapshot(`w${writer}`) },
        });
      });
      await poll.poll();
    }
    await poll.pollUntil(WRITERS);
    expect(poll.seen).toHaveLength(WRITERS);
    expect(new Set(poll.seen)).toEqual(new Set(ids));
    // The feed's order is commit order here (one transaction at a time), not id order.
    expect(poll.seen).toEqual(COMMIT_ORDER.map((w) => ids[w]));
  });

  // PGlite is one connection: its transactions run one after another and cannot overlap, which the
  // test above covers. On PostgreSQL, 12 transactions are open at once.
  it.skipIf(t.driver === 'pglite')(
    '12 concurrent writers whose transactions commit out of id and txid order: a poller sees every event once',
    async () => {
      const tenant = await createTenant(t.db);
      // Another pool, like other API processes: 12 transactions stay open at once.
      const writers = await createDb({ url: t.url!, migrate: false, maxConnections: WRITERS + 1 });
      onTestFinished(() => writers.close());
      const poll = poller(tenant);

      const txidTurn = Array.from({ length: WRITERS }, deferred);
      const tookTxid = Array.from({ length: WRITERS }, deferred);
      const recordTurn = Array.from({ length: WRITERS }, deferred);
      const recorded = Array.from({ length: WRITERS }, deferred);
      const commitTurn = Array.from({ length: WRITERS }, deferred);
      const ids: string[] = [];
      const done = Array.from({ length: WRITERS }, (_, w) =>
        writers.db.transaction(async (tx) => {
          await txidTurn[w]!.promise;
          await tx.execute(sql`select pg_current_xact_id()`);
          tookTxid[w]!.resolve();
          await recordTurn[w]!.promise;
          const event = await recordEvent(tx, {
            projectId: tenant.projectId,
            type: 'user.created',
            data: { user: snapshot(`w${w}`) },
          });
          ids[w] = event.id;
          recorded[w]!.resolve();
          await commitTurn[w]!.promise;
        }),
      );
      for (const w of TXID_ORDER) {
        txidTurn[w]!.resolve();
        await tookTxid[w]!.promise;
      }
      for (let w = 0; w < WRITERS; w++) {
        recordTurn[w]!.resolve();
        await recorded[w]!.promise;
      }
      expect([...ids].sort()).toEqual(ids); // event ids in writer order

      await poll.poll();
      expect(poll.seen).toEqual([]); // nothing committed yet
      for (const [n, w] of COMMIT_ORDER.entries()) {
        commitTurn[w]!.resolve();
        await done[w];
        await poll.poll();
        if (n === 0) {
          // Writer 5 committed, but transactions with older ids are still open: not served yet.
          expect(poll.seen).toEqual([]);
        }
      }
      await poll.pollUntil(WRITERS);
      expect(poll.seen).toHaveLength(WRITERS);
      expect(new Set(poll.seen)).toEqual(new Set(ids));
      // Served in the order the transactions got their ids.
      expect(poll.seen).toEqual(TXID_ORDER.map((w) => ids[w]));
    },
  );

  it('pages with opaque cursors; a type filter, after= and a bare event id as cursor continue the same feed', async () => {
    const tenant = await createTenant(t.db);
    for (let i = 0; i < 5; i++) {
      const user = await tenant.caller.users.create({ email: uniqueEmail('page') });
      await tenant.caller.users.update({ id: user.id, name: `n${i}` });
    }
    const all = poller(tenant);
    await all.pollUntil(10);
    expect(all.seen).toHaveLength(10);

    const pages: FeedPage[] = [];
    let query = 'limit=3';
    for (;;) {
      const page = await expectJson<FeedPage>(await tenant.request(`/v1/events?${query}`), 200);
      pages.push(page);
      if (!page.nextCursor) break;
      expect(page.nextCursor).not.toMatch(/^evt_/);
      query = `limit=3&cursor=${page.nextCursor}`;
    }
    expect(pages.map((p) => p.data.length)).toEqual([3, 3, 3, 1]);
    expect(pages.flatMap((p) => p.data.map((e) => e.id))).toEqual(all.seen);

    const updates: string[] = [];
    for (let cursor: string | null = null, first = true; first || cursor; first = false) {
      const page: FeedPage = await expectJson(
        await tenant.request(`/v1/events?type=user.updated&limit=2${cursor ? `&cursor=${cursor}` : ''}`),
        200,
      );
      updates.push(...page.data.map((e) => e.id));
      cursor = page.nextCursor;
    }
    expect(updates).toHaveLength(5);
    expect(updates).toEqual(all.seen.filter((id) => updates.includes(id)));

    const afterFourth = await expectJson<FeedPage>(await tenant.request(`/v1/events?after=${all.seen[3]}`), 200);
    expect(afterFourth.data.map((e) => e.id)).toEqual(all.seen.slice(4));
    const legacy = await expectJson<FeedPage>(await tenant.request(`/v1/events?cursor=${all.seen[3]}`), 200);
    expect(legacy.data.map((e) => e.id)).toEqual(all.seen.slice(4));
    const trpc = await tenant.caller.events.list({ after: all.seen[7] });
    expect(trpc.data.map((e) => e.id)).toEqual(all.seen.slice(8));
  });

  // Retention is run with the clock a month ahead, on a database of its own (the other tests' rows
  // stay): one run is enough.
  it.skipIf(t.driver !== 'pglite')(
    'after= an event whose day retention dropped resumes from what is kept; other unknown ids stay 404',
    async () => {
      const own = await createDb({ dataDir: 'memory://' });
      onTestFinished(() => own.close());
      const tenant = await createTenant(own.db);
      await tenant.caller.users.create({ email: uniqueEmail('gone') });
      const [gone] = await own.db.select({ id: events.id }).from(events).where(eq(events.projectId, tenant.projectId));
      // While the day is kept, an id of it that is not the project's event is a 404.
      await expectApiError(await tenant.request(`/v1/events?after=${newIdAt('event', Date.now())}`), 404, 'not_found');
      // A month later: today, and every day before it (the legacy partition too), are dropped.
      const report = await runMaintenance(own.db, {
        retentionMs: 30 * DAY,
        partitionsAheadDays: 2,
        now: new Date(Date.now() + 31 * DAY),
      });
      expect(report.dropped).toContain('legacy');
      await tenant.caller.users.create({ email: uniqueEmail('kept') });
      const all = poller(tenant);
      await all.pollUntil(1);
      expect(all.seen).toHaveLength(1);
      // A poller that caught up holds the id of the dropped event: it goes on from what is kept.
      const page = await expectJson<FeedPage>(await tenant.request(`/v1/events?after=${gone!.id}`), 200);
      expect(page.data.map((e) => e.id)).toEqual(all.seen);
      expect((await tenant.caller.events.list({ after: gone!.id })).data.map((e) => e.id)).toEqual(all.seen);
      // An id of a kept day that is not the project's event stays a 404.
      const kept = newIdAt('event', Date.now() + 31 * DAY);
      await expectApiError(await tenant.request(`/v1/events?after=${kept}`), 404, 'not_found');
    },
  );

  it('after= names an event of this project, and cursor one this list returned; anything else is a 4xx', async () => {
    const owner = await createTenant(t.db);
    const other = await createTenant(t.db);
    await other.caller.users.create({ email: uniqueEmail('other') });
    const [foreign] = await t.db.select({ id: events.id }).from(events).where(eq(events.projectId, other.projectId));
    const foreignId = foreign!.id;

    const unknown = newId('event');
    const notFound = await expectApiError(await owner.request(`/v1/events?after=${unknown}`), 404, 'not_found');
    expect(notFound.message).toContain(unknown);
    await expectApiError(await owner.request(`/v1/events?after=${foreignId}`), 404, 'not_found');
    await expectApiError(await owner.request('/v1/events?after=usr_123'), 400, 'validation_error');
    for (const cursor of ['nope!', 'bm9wZQ', Buffer.from('12\nevt_x').toString('base64url'), '%00']) {
      const error = await expectApiError(await owner.request(`/v1/events?cursor=${cursor}`), 400, 'validation_error');
      expect(JSON.stringify(error.details)).toContain('cursor');
    }
    await expect(owner.caller.events.list({ after: foreignId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it.skipIf(t.driver === 'pglite')(
    'a transaction still running holds the feed back: a later commit is served only once it ends',
    async () => {
      const slow = await createTenant(t.db);
      const fast = await createTenant(t.db);
      const writers = await createDb({ url: t.url!, migrate: false, maxConnections: 2 });
      onTestFinished(() => writers.close());
      const open = deferred();
      const release = deferred();
      const slowWriter = writers.db.transaction(async (tx) => {
        await recordEvent(tx, { projectId: slow.projectId, type: 'user.created', data: { user: snapshot('slow') } });
        open.resolve();
        await release.promise;
      });
      await open.promise;
      await fast.caller.users.create({ email: uniqueEmail('fast') });
      const held = await expectJson<FeedPage>(await fast.request('/v1/events'), 200);
      expect(held.data).toEqual([]); // committed, but a transaction that began writing before it is still open
      release.resolve();
      await slowWriter;
      const fastFeed = poller(fast);
      await fastFeed.pollUntil(1);
      expect(fastFeed.seen).toHaveLength(1);
    },
  );
});
