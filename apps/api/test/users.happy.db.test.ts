import { users } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import type { UserSnapshot } from '@herald/events';
import { userSnapshotSchema } from '@herald/events';
import { eq } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { createTenant, eventsOf, expectJson, uniqueEmail } from './harness';

describeDb('users: happy paths', (t) => {
  it('POST /v1/users creates a user (201), normalises input and records user.created', async () => {
    const tenant = await createTenant(t.db);
    const email = uniqueEmail('Ada');
    const response = await tenant.request('/v1/users', {
      json: {
        email: `  ${email.toUpperCase()} `,
        name: ' Ada Lovelace ',
        roles: ['admin', 'admin', 'billing'],
        metadata: { plan: 'pro', n: 1 },
      },
    });
    const user = userSnapshotSchema.parse(await expectJson(response, 201));
    expect(user).toMatchObject({
      email: email.toLowerCase(),
      name: 'Ada Lovelace',
      roles: ['admin', 'billing'],
      metadata: { plan: 'pro', n: 1 },
      status: 'active',
    });
    expect(user.id).toMatch(/^usr_[0-9a-z]{26}$/);
    expect(user.createdAt).toBe(user.updatedAt);

    const created = await eventsOf(tenant, 'user.created');
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({ type: 'user.created', version: 1, data: { user } });
  });

  it('GET /v1/users/{id} returns the user; GET /v1/users pages through users by cursor and filters by email', async () => {
    const tenant = await createTenant(t.db);
    const made: UserSnapshot[] = [];
    for (let i = 0; i < 5; i++) made.push(await tenant.caller.users.create({ email: uniqueEmail('page') }));

    const one = await expectJson(await tenant.request(`/v1/users/${made[2]!.id}`), 200);
    expect(one).toEqual(made[2]);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
      const page: { data: UserSnapshot[]; nextCursor: string | null } = await expectJson(
        await tenant.request(`/v1/users${query}`),
        200,
      );
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((u) => u.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(made.map((u) => u.id));

    const byEmail = await expectJson<{ data: UserSnapshot[] }>(
      await tenant.request(`/v1/users?email=${encodeURIComponent(made[3]!.email.toUpperCase())}`),
      200,
    );
    expect(byEmail.data.map((u) => u.id)).toEqual([made[3]!.id]);
  });

  it('PATCH /v1/users/{id} changes only the given fields and reports them in user.updated', async () => {
    const tenant = await createTenant(t.db);
    const user = await tenant.caller.users.create({ email: uniqueEmail(), name: 'Before', roles: ['member'] });
    const newEmail = uniqueEmail('after');

    const updated = await expectJson<UserSnapshot>(
      await tenant.request(`/v1/users/${user.id}`, {
        method: 'PATCH',
        json: { name: 'After', email: newEmail, roles: ['member'], status: 'locked' },
      }),
      200,
    );
    expect(updated).toMatchObject({
      id: user.id,
      name: 'After',
      email: newEmail,
      roles: ['member'],
      status: 'locked',
      metadata: {},
    });
    expect(Date.parse(updated.updatedAt)).toBeGreaterThanOrEqual(Date.parse(user.updatedAt));

    const events = await eventsOf(tenant, 'user.updated');
    expect(events).toHaveLength(1);
    // roles were sent but not changed, so they are not listed.
    expect(events[0]!.data).toEqual({ user: updated, changedFields: ['email', 'name', 'status'] });
  });

  it('PATCH with values equal to the current ones writes nothing and emits no event', async () => {
    const tenant = await createTenant(t.db);
    const user = await tenant.caller.users.create({ email: uniqueEmail(), name: 'Same' });
    const response = await tenant.request(`/v1/users/${user.id}`, {
      method: 'PATCH',
      json: { name: 'Same', email: user.email.toUpperCase() },
    });
    expect(await expectJson(response, 200)).toEqual(user);
    expect(await eventsOf(tenant, 'user.updated')).toEqual([]);
  });

  it('POST /v1/users/{id}/password stores an OWASP argon2id hash and records user.password.changed without the password', async () => {
    const tenant = await createTenant(t.db);
    const user = await tenant.caller.users.create({ email: uniqueEmail() });
    const password = 'correct horse battery staple';
    const result = await expectJson<{ id: string; passwordChangedAt: string }>(
      await tenant.request(`/v1/users/${user.id}/password`, { json: { password } }),
      200,
    );
    expect(result.id).toBe(user.id);

    // Stored as OWASP's argon2id (m=19 MiB, t=2, p=1) with a 16-byte salt and a 32-byte hash.
    const [row] = await t.db.select({ hash: users.passwordHash }).from(users).where(eq(users.id, user.id));
    const match = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(row!.hash!);
    expect(match, row!.hash!).not.toBeNull();
    const salt = Buffer.from(match![1]!, 'base64');
    const stored = Buffer.from(match![2]!, 'base64');
    expect([salt.length, stored.length]).toEqual([16, 32]);

    const [event] = await eventsOf(tenant, 'user.password.changed');
    expect(event!.data).toEqual({ userId: user.id, changedAt: result.passwordChangedAt });
    // The new password now logs in.
    expect(await tenant.caller.logins.create({ email: user.email, password })).toEqual({ userId: user.id });
  });

  it('DELETE /v1/users/{id} deletes the user and records user.deleted with only its id', async () => {
    const tenant = await createTenant(t.db);
    const user = await tenant.caller.users.create({ email: uniqueEmail(), metadata: { keep: true } });
    expect(await expectJson(await tenant.request(`/v1/users/${user.id}`, { method: 'DELETE' }), 200)).toEqual({
      id: user.id,
      deleted: true,
    });
    expect((await tenant.request(`/v1/users/${user.id}`)).status).toBe(404);
    const [event] = await eventsOf(tenant, 'user.deleted');
    expect(event).toMatchObject({ version: 2, data: { user: { id: user.id } } });
    expect(event!.data).toEqual({ user: { id: user.id } });
  });

  it('serves the same procedures over tRPC HTTP at /trpc, with the request id and rate-limit headers', async () => {
    const tenant = await createTenant(t.db);
    const email = uniqueEmail('trpc');
    const created = await tenant.request('/trpc/users.create', { json: { email } });
    expect(created.status).toBe(200);
    const user = userSnapshotSchema.parse(((await created.json()) as { result: { data: unknown } }).result.data);
    expect(user.email).toBe(email);
    // Headers set by middleware before the handler must survive tRPC's own Response.
    expect(created.headers.get('x-request-id')).toMatch(/^[A-Za-z0-9._:-]+$/);
    expect(created.headers.get('ratelimit-policy')).toMatch(/^"default";q=\d+;w=\d+$/);

    const input = encodeURIComponent(JSON.stringify({ id: user.id }));
    const got = await tenant.request(`/trpc/users.get?input=${input}`);
    expect(((await got.json()) as { result: { data: unknown } }).result.data).toEqual(user);
  });
});
