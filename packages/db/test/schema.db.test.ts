import { and, eq, sql } from 'drizzle-orm';
import { expect, it } from 'vitest';
import {
  apiKeys,
  deliveries,
  deliveryAttempts,
  endpoints,
  events,
  executeRows,
  isUniqueViolation,
  newId,
  projects,
  users,
} from '../src';
import { describeDb } from '../src/testing';

describeDb('database schema', (t) => {
  it('applies every migration', async () => {
    const rows = await executeRows<{ name: string }>(
      t.db,
      // Partitions of the history tables are not tables of the schema.
      sql`select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition order by 1`,
    );
    expect(rows.map((r) => r.name)).toEqual([
      'api_keys',
      'deliveries',
      'delivery_attempts',
      'delivery_queue_window',
      'endpoint_secrets',
      'endpoints',
      'events',
      'idempotency_keys',
      'login_throttles',
      'portal_links',
      'portal_sessions',
      'portal_settings',
      'projects',
      'rate_limit_counts',
      'subject_sequences',
      'user_past_emails',
      'users',
    ]);
  });

  it('stores and reads a user with roles and metadata', async () => {
    const projectId = newId('project');
    await t.db.insert(projects).values({ id: projectId, name: 'p' });
    const id = newId('user');
    await t.db.insert(users).values({
      id,
      projectId,
      email: 'ada@example.com',
      roles: ['admin', 'member'],
      metadata: { plan: 'pro', nested: { n: 1 } },
    });
    const [row] = await t.db.select().from(users).where(eq(users.id, id));
    expect(row).toMatchObject({
      email: 'ada@example.com',
      roles: ['admin', 'member'],
      metadata: { plan: 'pro', nested: { n: 1 } },
      status: 'active',
      name: null,
    });
    expect(row?.createdAt).toBeInstanceOf(Date);
  });

  it('reports a duplicate email per project as a unique violation', async () => {
    const projectId = newId('project');
    await t.db.insert(projects).values({ id: projectId, name: 'p' });
    const user = { projectId, email: 'dup@example.com' };
    await t.db.insert(users).values({ id: newId('user'), ...user });
    const error = await t.db
      .insert(users)
      .values({ id: newId('user'), ...user })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(isUniqueViolation(error)).toBe(true);
    expect(isUniqueViolation(new Error('other'))).toBe(false);

    // Another project may use the same address.
    const otherProject = newId('project');
    await t.db.insert(projects).values({ id: otherProject, name: 'q' });
    await t.db.insert(users).values({ id: newId('user'), projectId: otherProject, email: user.email });
  });

  it('rolls back every write of a failed transaction', async () => {
    const projectId = newId('project');
    await t.db.insert(projects).values({ id: projectId, name: 'p' });
    const userId = newId('user');
    await expect(
      t.db.transaction(async (tx) => {
        await tx.insert(users).values({ id: userId, projectId, email: 'x@example.com' });
        await tx.insert(events).values({ id: newId('event'), projectId, type: 'user.created', version: 1, data: {} });
        throw new Error('forced failure');
      }),
    ).rejects.toThrow('forced failure');
    expect(await t.db.select().from(users).where(eq(users.id, userId))).toEqual([]);
    expect(await t.db.select().from(events).where(eq(events.projectId, projectId))).toEqual([]);
  });

  it('cascades a deleted endpoint to its deliveries; attempts hold no foreign key (retention drops days whole)', async () => {
    const projectId = newId('project');
    await t.db.insert(projects).values({ id: projectId, name: 'p' });
    const endpointId = newId('endpoint');
    const eventId = newId('event');
    const deliveryId = newId('delivery');
    await t.db.insert(endpoints).values({ id: endpointId, projectId, url: 'https://example.com/hook' });
    await t.db.insert(events).values({ id: eventId, projectId, type: 'user.created', version: 1, data: { a: 1 } });
    await t.db.insert(deliveries).values({ id: deliveryId, projectId, endpointId, eventId, nextAttemptAt: new Date() });
    await t.db.insert(deliveryAttempts).values({
      id: newId('attempt'),
      deliveryId,
      attemptNumber: 1,
      startedAt: new Date(),
      durationMs: 12,
      statusCode: 500,
    });
    await t.db.delete(endpoints).where(eq(endpoints.id, endpointId));
    expect(await t.db.select().from(deliveries).where(eq(deliveries.id, deliveryId))).toEqual([]);
    // DELETE /v1/endpoints/{id} removes the attempts itself (tests/e2e/delivery.errors.db.test.ts).
    expect(await t.db.select().from(deliveryAttempts).where(eq(deliveryAttempts.deliveryId, deliveryId))).toHaveLength(
      1,
    );
  });

  it('finds due deliveries through the partial index predicate', async () => {
    const projectId = newId('project');
    await t.db.insert(projects).values({ id: projectId, name: 'p' });
    const endpointId = newId('endpoint');
    await t.db.insert(endpoints).values({ id: endpointId, projectId, url: 'https://example.com/hook' });
    // One event per delivery: an event has at most one delivery per endpoint.
    const eventIds = [newId('event'), newId('event'), newId('event'), newId('event')];
    await t.db
      .insert(events)
      .values(eventIds.map((id) => ({ id, projectId, type: 'user.created', version: 1, data: {} })));
    const past = new Date(Date.now() - 1000);
    const future = new Date(Date.now() + 60_000);
    const [e1, e2, e3, e4] = eventIds as [string, string, string, string];
    await t.db.insert(deliveries).values([
      { id: newId('delivery'), projectId, endpointId, eventId: e1, status: 'pending', nextAttemptAt: past },
      { id: newId('delivery'), projectId, endpointId, eventId: e2, status: 'in_flight', nextAttemptAt: past },
      { id: newId('delivery'), projectId, endpointId, eventId: e3, status: 'pending', nextAttemptAt: future },
      { id: newId('delivery'), projectId, endpointId, eventId: e4, status: 'succeeded', nextAttemptAt: null },
    ]);
    const due = await t.db
      .select({ status: deliveries.status })
      .from(deliveries)
      .where(
        and(
          eq(deliveries.projectId, projectId),
          sql`${deliveries.status} in ('pending', 'in_flight') and ${deliveries.nextAttemptAt} <= now()`,
        ),
      );
    expect(due.map((d) => d.status).sort()).toEqual(['in_flight', 'pending']);
  });

  it('keeps api keys unique by hash', async () => {
    const projectId = newId('project');
    await t.db.insert(projects).values({ id: projectId, name: 'p' });
    const key = { projectId, name: 'k', keyPrefix: 'sk_abc', keyHash: 'h'.repeat(64) };
    await t.db.insert(apiKeys).values({ id: newId('apiKey'), ...key });
    const error = await t.db
      .insert(apiKeys)
      .values({ id: newId('apiKey'), ...key })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(isUniqueViolation(error)).toBe(true);
  });

  it('returns raw rows the same way on both drivers', async () => {
    const rows = await executeRows<{ n: number }>(t.db, sql`select 1::int as n union all select 2`);
    expect(rows).toEqual([{ n: 1 }, { n: 2 }]);
  });
});
