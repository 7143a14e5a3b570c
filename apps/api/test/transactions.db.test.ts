import type { Database } from '@herald/db';
import { deliveries, endpoints, events, newId, users } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import type { UserSnapshot } from '@herald/events';
import { changeWithEvents, createApiServices, toUser } from '@herald/router';
import { eq, sql } from 'drizzle-orm';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTenant, expectApiError, uniqueEmail } from './harness';

/** Everything a project has in the outbox tables, to assert "nothing left behind". */
async function outboxOf(db: Database, projectId: string) {
  const [userRows, eventRows, deliveryRows] = await Promise.all([
    db.select({ id: users.id, name: users.name }).from(users).where(eq(users.projectId, projectId)),
    db.select({ id: events.id, type: events.type }).from(events).where(eq(events.projectId, projectId)),
    db.select({ id: deliveries.id }).from(deliveries).where(eq(deliveries.projectId, projectId)),
  ]);
  return { users: userRows, events: eventRows, deliveries: deliveryRows };
}

async function subscribedEndpoint(db: Database, projectId: string) {
  await db.insert(endpoints).values({ id: newId('endpoint'), projectId, url: 'https://example.com/hook' });
}

describeDb('a change and its events commit together or not at all', (t) => {
  describe('changeWithEvents', () => {
    let wakeups = 0;
    const services = () =>
      createApiServices(t.db, {
        wakeup: {
          notify: () => {
            wakeups += 1;
          },
        },
      });
    beforeEach(() => {
      wakeups = 0;
    });

    async function insertUserAndEmit(ctx: Parameters<typeof changeWithEvents>[0], email: string) {
      return changeWithEvents(ctx, async (tx, emit) => {
        const [row] = await tx
          .insert(users)
          .values({ id: newId('user'), projectId: ctx.projectId, email })
          .returning();
        const user = toUser(row!);
        await emit('user.created', { user });
        return user;
      });
    }

    it('commits the row, the event and its delivery, then wakes the dispatchers once', async () => {
      const tenant = await createTenant(t.db);
      await subscribedEndpoint(t.db, tenant.projectId);
      await insertUserAndEmit({ db: t.db, services: services(), projectId: tenant.projectId }, uniqueEmail());
      const outbox = await outboxOf(t.db, tenant.projectId);
      expect([outbox.users.length, outbox.events.length, outbox.deliveries.length]).toEqual([1, 1, 1]);
      expect(wakeups).toBe(1);
    });

    it('a change that throws after its insert and its event leaves neither row, event nor delivery, and wakes no one', async () => {
      const tenant = await createTenant(t.db);
      await subscribedEndpoint(t.db, tenant.projectId);
      const ctx = { db: t.db, services: services(), projectId: tenant.projectId };
      const failing = changeWithEvents(ctx, async (tx, emit) => {
        const [row] = await tx
          .insert(users)
          .values({ id: newId('user'), projectId: ctx.projectId, email: uniqueEmail() })
          .returning();
        await emit('user.created', { user: toUser(row!) });
        throw new Error('forced failure after the insert');
      });
      await expect(failing).rejects.toThrow('forced failure after the insert');
      expect(await outboxOf(t.db, tenant.projectId)).toEqual({ users: [], events: [], deliveries: [] });
      expect(wakeups).toBe(0);
    });

    it('an event whose data fails its schema rolls back the insert before it', async () => {
      const tenant = await createTenant(t.db);
      const ctx = { db: t.db, services: services(), projectId: tenant.projectId };
      const failing = changeWithEvents(ctx, async (tx, emit) => {
        const [row] = await tx
          .insert(users)
          .values({ id: newId('user'), projectId: ctx.projectId, email: uniqueEmail() })
          .returning();
        const notAUser = { ...toUser(row!), email: 'not an email' } as UserSnapshot;
        await emit('user.created', { user: notAUser });
      });
      await expect(failing).rejects.toThrow();
      expect(await outboxOf(t.db, tenant.projectId)).toEqual({ users: [], events: [], deliveries: [] });
    });
  });

  describe('through the API, with the database refusing the event insert', () => {
    // A trigger makes the events insert fail for chosen types: the route's
    // real code runs, its write succeeds, and the failure comes after it.
    beforeAll(async () => {
      await t.db.execute(sql`create table test_failing_event_types (type text primary key)`);
      await t.db.execute(
        sql.raw(`
        create function test_fail_event() returns trigger language plpgsql as $$
        begin
          if exists (select 1 from test_failing_event_types where type = new.type) then
            raise exception 'forced failure after the change';
          end if;
          return new;
        end $$`),
      );
      await t.db.execute(
        sql`create trigger test_fail_event before insert on events for each row execute function test_fail_event()`,
      );
    });
    beforeEach(async () => {
      await t.db.execute(sql`delete from test_failing_event_types`);
    });
    const failEvents = (type: string) => t.db.execute(sql`insert into test_failing_event_types values (${type})`);

    it('POST /v1/users → 500 with no SQL in the body; neither the user nor the event nor a delivery remains', async () => {
      const tenant = await createTenant(t.db);
      await subscribedEndpoint(t.db, tenant.projectId);
      await failEvents('user.created');
      const response = await tenant.request('/v1/users', { json: { email: uniqueEmail('doomed') } });
      const error = await expectApiError(response, 500, 'internal_error');
      expect(error.message).toBe('Internal server error');
      expect(await outboxOf(t.db, tenant.projectId)).toEqual({ users: [], events: [], deliveries: [] });
    });

    it('PATCH and DELETE roll back too: the user is left exactly as it was', async () => {
      const tenant = await createTenant(t.db);
      const user = await tenant.caller.users.create({ email: uniqueEmail(), name: 'Original' });
      await failEvents('user.updated');
      await failEvents('user.deleted');
      await expectApiError(
        await tenant.request(`/v1/users/${user.id}`, { method: 'PATCH', json: { name: 'Changed' } }),
        500,
        'internal_error',
      );
      await expectApiError(await tenant.request(`/v1/users/${user.id}`, { method: 'DELETE' }), 500, 'internal_error');
      expect(await tenant.caller.users.get({ id: user.id })).toEqual(user);
      expect((await outboxOf(t.db, tenant.projectId)).events.map((e) => e.type)).toEqual(['user.created']);
    });
  });
});
