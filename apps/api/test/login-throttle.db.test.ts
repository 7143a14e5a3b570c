import { loginThrottles } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { and, eq } from 'drizzle-orm';
import { beforeAll, expect, it } from 'vitest';
import type { Tenant } from './harness';
import { createTenant, createTestApp, eventsOf, expectApiError, expectJson, tenantFor, uniqueEmail } from './harness';

const PASSWORD = 'correct horse battery staple';

describeDb('login throttling', (t) => {
  let tenant: Tenant;

  beforeAll(async () => {
    tenant = await createTenant(t.db);
  });

  const login = (json: Record<string, unknown>) => tenant.request('/v1/logins', { json });

  it('5 wrong passwords, then the 6th answers 429 with Retry-After even with the right password; others are unaffected', async () => {
    const email = uniqueEmail('throttled');
    const other = uniqueEmail('bystander');
    await tenant.caller.users.create({ email, password: PASSWORD });
    const bystander = await tenant.caller.users.create({ email: other, password: PASSWORD });

    for (let i = 0; i < 5; i++) {
      await expectApiError(
        await login({ email, password: `wrong ${i}`, ipAddress: '198.51.100.1' }),
        401,
        'invalid_credentials',
      );
    }
    const failedBefore = (await eventsOf(tenant, 'user.login.failed')).length;

    // From another address too: the account key holds whatever the address.
    for (const ipAddress of ['198.51.100.1', '198.51.100.2']) {
      const blocked = await login({ email, password: PASSWORD, ipAddress });
      const retryAfter = Number(blocked.headers.get('retry-after'));
      await expectApiError(blocked, 429, 'rate_limited');
      expect(retryAfter).toBeGreaterThan(14 * 60);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    }
    // Refused before any password work: no login event either.
    expect((await eventsOf(tenant, 'user.login.failed')).length).toBe(failedBefore);
    expect(await eventsOf(tenant, 'user.login.succeeded')).toEqual([]);

    // Another account from another address is unaffected.
    expect(await expectJson(await login({ email: other, password: PASSWORD, ipAddress: '203.0.113.9' }), 200)).toEqual({
      userId: bystander.id,
    });

    // The block is the database's: another API process (another app on the same database) sees it.
    const elsewhere = tenantFor(createTestApp(t.db), tenant.projectId, tenant.apiKey, tenant.apiKeyId);
    await expectApiError(
      await elsewhere.request('/v1/logins', { json: { email, password: PASSWORD } }),
      429,
      'rate_limited',
    );
    const [row] = await t.db
      .select()
      .from(loginThrottles)
      .where(and(eq(loginThrottles.projectId, tenant.projectId), eq(loginThrottles.key, `account:${email}`)));
    // Five failures, and the attempt past the limit, counted (before its check) as it blocked the key.
    expect(row).toMatchObject({ failures: 6 });
    expect(row!.blockedUntil!.getTime()).toBeGreaterThan(Date.now() + 14 * 60_000);
  });

  it('a success before the limit resets the account', async () => {
    const email = uniqueEmail('resets');
    const user = await tenant.caller.users.create({ email, password: PASSWORD });
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 4; i++) {
        await expectApiError(await login({ email, password: `wrong ${i}` }), 401, 'invalid_credentials');
      }
      expect(await expectJson(await login({ email, password: PASSWORD }), 200)).toEqual({ userId: user.id });
    }
    // 8 failures in all, never 5 in a row: the next wrong one is still a plain 401.
    await expectApiError(await login({ email, password: 'wrong again' }), 401, 'invalid_credentials');
  });

  it('unknown emails are throttled the same way, so throttling does not tell who exists', async () => {
    const ghost = uniqueEmail('ghost');
    for (let i = 0; i < 5; i++) {
      await expectApiError(await login({ email: ghost, password: `wrong ${i}` }), 401, 'invalid_credentials');
    }
    await expectApiError(await login({ email: ghost, password: PASSWORD }), 429, 'rate_limited');
  });

  it('a client address is throttled across accounts after 20 failures', async () => {
    const ipAddress = '192.0.2.77';
    for (let i = 0; i < 20; i++) {
      await expectApiError(
        await login({ email: uniqueEmail('spray'), password: 'guess', ipAddress }),
        401,
        'invalid_credentials',
      );
    }
    const email = uniqueEmail('victim');
    const victim = await tenant.caller.users.create({ email, password: PASSWORD });
    const blocked = await login({ email, password: PASSWORD, ipAddress });
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    await expectApiError(blocked, 429, 'rate_limited');
    // The same account from its owner's address is fine.
    expect(await expectJson(await login({ email, password: PASSWORD, ipAddress: '192.0.2.78' }), 200)).toEqual({
      userId: victim.id,
    });
  });

  it('concurrent wrong guesses get no more password checks than the limit: the rest are refused 429', async () => {
    const email = uniqueEmail('concurrent');
    await tenant.caller.users.create({ email, password: PASSWORD });
    const before = (await eventsOf(tenant, 'user.login.failed')).length;
    const answers = await Promise.all(
      Array.from({ length: 14 }, (_, i) => login({ email, password: `wrong ${i}`, ipAddress: '198.51.100.40' })),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(9);
    // One failed-login event per password checked, none for the refused.
    expect((await eventsOf(tenant, 'user.login.failed')).length - before).toBe(5);
  });

  it('one client address is one key however it is written (and an IPv6 /64 is one)', async () => {
    for (const [blockedAs, alike] of [
      ['2001:db8:7::7', ['2001:DB8:7::7', '2001:db8:7:0:0:0:0:7', '2001:0db8:0007::0007', '2001:db8:7::8']],
      ['198.51.100.99', ['::ffff:198.51.100.99', '::FFFF:c633:6463']],
    ] as const) {
      for (let i = 0; i < 20; i++) {
        const failed = await login({ email: uniqueEmail('spelling'), password: 'guess', ipAddress: blockedAs });
        expect(failed.status).toBe(401);
      }
      for (const ipAddress of alike) {
        const answer = await login({ email: uniqueEmail('spelling'), password: 'guess', ipAddress });
        expect({ ipAddress, status: answer.status }).toEqual({ ipAddress, status: 429 });
      }
    }
    // Another /64 is another subscriber.
    expect(
      (await login({ email: uniqueEmail('spelling'), password: 'guess', ipAddress: '2001:db8:8::7' })).status,
    ).toBe(401);
  });
});
