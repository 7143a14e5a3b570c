import type { Database, Transaction } from '@herald/db';
import { createDb, executeRows, markProjectWriter, markWritingNoEvents, users } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { recoverEndpointDeliveries } from '@herald/delivery';
import { eq, sql } from 'drizzle-orm';
import { expect, it, onTestFinished } from 'vitest';
import { createTenant, deferred, expectJson, type Tenant, uniqueEmail } from './harness';

/*
 * GET /v1/events serves events below the oldest transaction still running, so that a poller never
 * passes one that commits later. A transaction marked as one project's (`markProjectWriter`, as an
 * Idempotency-Key request's is) writes no other project's events: other projects' feeds do not
 * wait for it, its own project's does.
 *
 * PGlite is one connection: no transaction can stay open while the feed is read.
 */

type FeedPage = { data: { id: string }[]; nextCursor: string | null };

async function feedIds(tenant: Tenant): Promise<string[]> {
  const page = await expectJson<FeedPage>(await tenant.request('/v1/events?limit=100'), 200);
  return page.data.map((e) => e.id);
}

/**
 * Whether the feed serves `eventId` within 10 s: any unmarked transaction on the server (another
 * test file's) holds every feed back a while, so a served event is waited for, not read once.
 */
async function served(tenant: Tenant, eventId: string): Promise<boolean> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
    if ((await feedIds(tenant)).includes(eventId)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

/** The id of the event of a user the tenant creates now (committed when this returns). */
async function createUserEvent(db: Database, tenant: Tenant): Promise<string> {
  const user = await tenant.caller.users.create({ email: uniqueEmail('mark') });
  const [row] = await executeRows<{ id: string }>(
    db,
    sql`select id from events where project_id = ${tenant.projectId} and subject = ${user.id}`,
  );
  return row!.id;
}

/**
 * A transaction on `db` that runs `begin`, then stays open until `end()` (which waits for its
 * commit). Ended after the test whatever happens.
 */
async function heldOpen(db: Database, begin: (tx: Transaction) => Promise<unknown>) {
  const open = deferred();
  const release = deferred();
  onTestFinished(() => release.resolve());
  const done = db.transaction(async (tx) => {
    await begin(tx);
    open.resolve();
    await release.promise;
  });
  await open.promise;
  return {
    end: async () => {
      release.resolve();
      await done;
    },
  };
}

describeDb('event feed and project marks', (t) => {
  it.skipIf(t.driver === 'pglite')(
    "a running transaction marked as project B's holds back B's feed only; an unmarked one holds back every project's",
    async () => {
      const a = await createTenant(t.db);
      const b = await createTenant(t.db);
      const other = await createDb({ url: t.url!, migrate: false, maxConnections: 2 });
      onTestFinished(() => other.close());

      // B's marked transaction has written (it has a transaction id) and stays open.
      const marked = await heldOpen(other.db, async (tx) => {
        await tx.execute(sql`select ${markProjectWriter(b.projectId)}`);
        await tx.execute(sql`select pg_current_xact_id()`);
      });

      const eventOfA = await createUserEvent(t.db, a);
      const eventOfB = await createUserEvent(t.db, b);
      expect(await served(a, eventOfA)).toBe(true);
      // B's feed waits: the marked transaction may still commit an event of B's with a smaller txid.
      expect(await feedIds(b)).not.toContain(eventOfB);
      await marked.end();
      expect(await served(b, eventOfB)).toBe(true);

      // Marked as writing no events (history maintenance): no feed waits for it.
      const maintenance = await heldOpen(other.db, async (tx) => {
        await tx.execute(sql`select ${markWritingNoEvents()}`);
        await tx.execute(sql`select pg_current_xact_id()`);
      });
      const whileMaintained = [await createUserEvent(t.db, a), await createUserEvent(t.db, b)];
      expect(await served(a, whileMaintained[0]!)).toBe(true);
      expect(await served(b, whileMaintained[1]!)).toBe(true);
      await maintenance.end();

      // Unmarked, a transaction may write any project's events: every feed waits for it.
      const unmarked = await heldOpen(other.db, (tx) => tx.execute(sql`select pg_current_xact_id()`));
      const laterOfA = await createUserEvent(t.db, a);
      expect(await feedIds(a)).not.toContain(laterOfA);
      await unmarked.end();
      expect(await served(a, laterOfA)).toBe(true);
    },
  );

  it.skipIf(t.driver === 'pglite')(
    "a request with an Idempotency-Key runs under its project's mark while it waits inside its transaction",
    async () => {
      const b = await createTenant(t.db);
      const user = await b.caller.users.create({ email: uniqueEmail('marked') });
      const other = await createDb({ url: t.url!, migrate: false, maxConnections: 2 });
      onTestFinished(() => other.close());

      // The user's row is locked: the keyed request waits on it inside its transaction.
      const lock = await heldOpen(other.db, (tx) => tx.select().from(users).where(eq(users.id, user.id)).for('update'));
      const request = b.request(`/v1/users/${user.id}/password`, {
        json: { password: 'a long enough password' },
        headers: { 'idempotency-key': `mark-${Date.now()}` },
      });
      const marks = async () =>
        (
          await executeRows<{ n: number }>(
            other.db,
            sql`select count(*)::int as n from pg_locks
                where locktype = 'advisory' and mode = 'ShareLock' and objsubid = 2
                  and objid = hashtext(${b.projectId})::oid`,
          )
        )[0]!.n;
      let seen = 0;
      for (const deadline = Date.now() + 10_000; seen === 0 && Date.now() < deadline; ) {
        seen = await marks();
        if (seen === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(seen).toBe(1);
      await lock.end();
      expect((await request).status).toBe(200);
      expect(await marks()).toBe(0);
    },
  );

  it.skipIf(t.driver === 'pglite')(
    "a running recovery holds back its own project's feed only, and its project's next recovery answers 429 at once",
    async () => {
      const a = await createTenant(t.db);
      const b = await createTenant(t.db);
      // A's endpoint took no user.created, then takes every event: the earlier user is missed.
      const { endpoint } = await a.caller.endpoints.create({
        url: 'https://receiver.example/hook',
        eventTypes: ['user.deleted'],
      });
      await a.caller.users.create({ email: uniqueEmail('missed') });
      await a.caller.endpoints.update({ id: endpoint.id, eventTypes: null });
      const other = await createDb({ url: t.url!, migrate: false, maxConnections: 2 });
      onTestFinished(() => other.close());

      // A's recovery has queued the missed delivery (it has a transaction id) and has not committed.
      let queued: unknown;
      const recovery = await heldOpen(other.db, async (tx) => {
        queued = await recoverEndpointDeliveries(tx as unknown as Database, {
          projectId: a.projectId,
          endpointId: endpoint.id,
          since: new Date(Date.now() - 60_000),
        });
      });
      expect(queued).toEqual({ requeued: 0, missed: 1, more: false });

      const eventOfB = await createUserEvent(t.db, b);
      expect(await served(b, eventOfB)).toBe(true);
      const eventOfA = await createUserEvent(t.db, a);
      expect(await feedIds(a)).not.toContain(eventOfA);

      // Refused, not waited for: a waiting call would hold one of the API's connections.
      const refused = await a.request(`/v1/endpoints/${endpoint.id}/recover`, {
        json: { since: new Date(Date.now() - 60_000).toISOString() },
      });
      const body = await expectJson<{ error: { code: string } }>(refused, 429);
      expect(body.error.code).toBe('rate_limited');
      expect(refused.headers.get('retry-after')).toBe('2');
      await recovery.end();
      expect(await served(a, eventOfA)).toBe(true);
      const again = await a.request(`/v1/endpoints/${endpoint.id}/recover`, {
        json: { since: new Date(Date.now() - 60_000).toISOString() },
      });
      expect(await expectJson(again, 202)).toEqual({ requeued: 0, missed: 0, more: false });
    },
  );
});
