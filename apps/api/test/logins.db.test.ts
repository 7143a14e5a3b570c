import { randomBytes, scryptSync } from 'node:crypto';
import { users } from '@herald/db';
import { describeDb, gate } from '@herald/db/testing';
import { legacyFailureFloorMs, projectHasLegacyHashes } from '@herald/router';
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from './harness';
import { createTenant, eventsOf, expectApiError, expectJson, uniqueEmail } from './harness';

const PASSWORD = 'correct horse battery staple';

/** A hash as Herald made them before argon2id: scrypt N=2^17, r=8, p=1, PHC string. */
function legacyScryptHash(password: string) {
  const salt = randomBytes(16);
  const key = scryptSync(password.normalize('NFKC'), salt, 32, { N: 2 ** 17, r: 8, p: 1, maxmem: 256 * 1024 * 1024 });
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=17,r=8,p=1$${b64(salt)}$${b64(key)}`;
}

/** What a client can observe of an answer, minus what differs per request. */
async function observable(response: Response) {
  const headers = Object.fromEntries(
    [...response.headers].filter(([name]) => !['x-request-id', 'ratelimit'].includes(name)),
  );
  return { status: response.status, headers, body: await response.text() };
}

describeDb('logins', (t) => {
  let tenant: Tenant;
  let userId: string;
  let email: string;

  // One user with a password for the whole file: each hash costs ~100-300 ms.
  beforeAll(async () => {
    tenant = await createTenant(t.db);
    email = uniqueEmail('login');
    userId = (await tenant.caller.users.create({ email, password: PASSWORD })).id;
  });

  const login = (json: Record<string, unknown>) => tenant.request('/v1/logins', { json });

  it('the right password → 200 with the user id, and user.login.succeeded with the client details', async () => {
    const response = await login({
      email: email.toUpperCase(),
      password: PASSWORD,
      ipAddress: '203.0.113.7',
      userAgent: 'test-agent/1.0',
    });
    expect(await expectJson(response, 200)).toEqual({ userId });
    const [event] = await eventsOf(tenant, 'user.login.succeeded');
    expect(event!.data).toEqual({ userId, email, ipAddress: '203.0.113.7', userAgent: 'test-agent/1.0' });
    expect(JSON.stringify(event)).not.toContain(PASSWORD);
  });

  describe('unknown user and wrong password give the same answer', () => {
    it('same status, headers and body; the events tell them apart for the project', async () => {
      const passwordless = await tenant.caller.users.create({ email: uniqueEmail('nopw') });
      const wrong = await observable(await login({ email, password: 'not the password' }));
      const unknown = await observable(await login({ email: uniqueEmail('ghost'), password: 'not the password' }));
      const noPassword = await observable(await login({ email: passwordless.email, password: 'not the password' }));

      expect(wrong.status).toBe(401);
      expect(JSON.parse(wrong.body)).toEqual({
        error: { code: 'invalid_credentials', message: 'Invalid email or password' },
      });
      expect(unknown).toEqual(wrong);
      expect(noPassword).toEqual(wrong);

      const failed = (await eventsOf(tenant, 'user.login.failed')).map(
        (e) => e.data as { userId: string | null; reason: string },
      );
      expect(failed.slice(-3)).toEqual([
        expect.objectContaining({ userId, reason: 'invalid_password' }),
        expect.objectContaining({ userId: null, reason: 'unknown_user' }),
        expect.objectContaining({ userId: passwordless.id, reason: 'invalid_password' }),
      ]);
      for (const e of failed) expect(JSON.stringify(e)).not.toContain('not the password');
    });

    it('an unknown user costs a password check too, so timing does not reveal who exists', async () => {
      const timed = async (json: Record<string, unknown>) => {
        const started = performance.now();
        expect((await login(json)).status).toBe(401);
        return performance.now() - started;
      };
      const wrong: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 2; i++) {
        wrong.push(await timed({ email, password: `wrong ${i}` }));
        unknown.push(await timed({ email: uniqueEmail('ghost'), password: `wrong ${i}` }));
      }
      // Without the dummy check an unknown user answers ~20x faster; the
      // minimum of each is robust to a busy machine.
      expect(Math.min(...unknown)).toBeGreaterThan(0.3 * Math.min(...wrong));
    });
  });

  it('a locked user answers exactly as a wrong password does, whatever the password; only the event says why', async () => {
    const lockedEmail = uniqueEmail('locked');
    const locked = await tenant.caller.users.create({ email: lockedEmail, password: PASSWORD });
    await tenant.caller.users.update({ id: locked.id, status: 'locked' });
    const right = await observable(await login({ email: lockedEmail, password: PASSWORD }));
    const wrong = await observable(await login({ email: lockedEmail, password: 'not the password' }));
    const otherWrong = await observable(await login({ email, password: 'not the password' }));
    expect(right.status).toBe(401);
    expect(JSON.parse(right.body)).toEqual({
      error: { code: 'invalid_credentials', message: 'Invalid email or password' },
    });
    expect(wrong).toEqual(right);
    expect(otherWrong).toEqual(right);
    const reasons = (await eventsOf(tenant, 'user.login.failed')).map((e) => (e.data as { reason: string }).reason);
    expect(reasons.slice(-3)).toEqual(['user_locked', 'invalid_password', 'invalid_password']);
  });

  it('a legacy scrypt hash verifies, and the login rehashes it to argon2id in the same request', async () => {
    // A project of its own: one with legacy hashes answers failed logins no sooner than their check.
    const own = await createTenant(t.db);
    const login = (json: Record<string, unknown>) => own.request('/v1/logins', { json });
    const legacyEmail = uniqueEmail('legacy');
    const legacyUser = await own.caller.users.create({ email: legacyEmail });
    const storedHash = async () =>
      (await t.db.select({ hash: users.passwordHash }).from(users).where(eq(users.id, legacyUser.id)))[0]!.hash;
    await t.db
      .update(users)
      .set({ passwordHash: legacyScryptHash(PASSWORD) })
      .where(eq(users.id, legacyUser.id));
    expect(await storedHash()).toMatch(/^\$scrypt\$ln=17,r=8,p=1\$/);

    // A wrong password leaves it as it is.
    await expectApiError(await login({ email: legacyEmail, password: 'not the password' }), 401, 'invalid_credentials');
    expect(await storedHash()).toMatch(/^\$scrypt\$/);

    expect(await expectJson(await login({ email: legacyEmail, password: PASSWORD }), 200)).toEqual({
      userId: legacyUser.id,
    });
    const rehashed = await storedHash();
    expect(rehashed).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    // The new hash is the same password, and no further rehash happens.
    expect(await expectJson(await login({ email: legacyEmail, password: PASSWORD }), 200)).toEqual({
      userId: legacyUser.id,
    });
    expect(await storedHash()).toBe(rehashed);
  });

  it('where legacy hashes remain, a failed login for anyone takes as long as a legacy check: the delay tells nothing', async () => {
    // A project whose hashes are all argon2id never waits.
    expect(await projectHasLegacyHashes(t.db, tenant.projectId)).toBe(false);
    const own = await createTenant(t.db);
    const legacyEmail = uniqueEmail('legacy-timing');
    const argonEmail = uniqueEmail('argon-timing');
    const legacyUser = await own.caller.users.create({ email: legacyEmail });
    await own.caller.users.create({ email: argonEmail, password: PASSWORD });
    await t.db
      .update(users)
      .set({ passwordHash: legacyScryptHash(PASSWORD) })
      .where(eq(users.id, legacyUser.id));
    const failedLoginMs = async (json: Record<string, unknown>) => {
      const started = performance.now();
      await expectApiError(await own.request('/v1/logins', { json }), 401, 'invalid_credentials');
      return performance.now() - started;
    };
    await failedLoginMs({ email: legacyEmail, password: 'not the password' });
    // At least the minimum, and past the legacy check just measured.
    const floor = legacyFailureFloorMs();
    expect(floor).toBeGreaterThanOrEqual(1000);
    for (const json of [
      { email: uniqueEmail('nobody'), password: 'not the password' },
      { email: argonEmail, password: 'not the password' },
    ]) {
      expect(await failedLoginMs(json), json.email).toBeGreaterThanOrEqual(floor);
    }
  });

  // PostgreSQL only: there a request with an Idempotency-Key runs in one transaction with its stored answer.
  it.skipIf(t.driver !== 'postgres')(
    'a keyed failed login where legacy hashes remain waits after its transaction commits, not inside it',
    async () => {
      const own = await createTenant(t.db);
      const legacyUser = await own.caller.users.create({ email: uniqueEmail('legacy-keyed') });
      await t.db
        .update(users)
        .set({ passwordHash: legacyScryptHash(PASSWORD) })
        .where(eq(users.id, legacyUser.id));
      const openTransactionMs = async () => {
        const rows = await t.herald.sql!<{ ms: number | null }[]>`
          select max(extract(epoch from clock_timestamp() - xact_start) * 1000)::float8 as ms
          from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'`;
        return rows[0]?.ms ?? 0;
      };
      const started = performance.now();
      let answered = false;
      const answer = own
        .request('/v1/logins', {
          json: { email: uniqueEmail('nobody'), password: 'not the password' },
          headers: { 'Idempotency-Key': `keyed-floor-${Date.now()}` },
        })
        .finally(() => {
          answered = true;
        });
      // The longest any transaction of this database stayed open while the answer was awaited.
      let longestOpenMs = 0;
      while (!answered) {
        longestOpenMs = Math.max(longestOpenMs, await openTransactionMs());
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await expectApiError(await answer, 401, 'invalid_credentials');
      const answerMs = performance.now() - started;
      // The answer still keeps the floor; the transaction (the request's queries and its one
      // argon2id check, about 0.1 s) was over well before it. Before, it stayed open through the wait.
      expect(answerMs).toBeGreaterThanOrEqual(legacyFailureFloorMs());
      expect(longestOpenMs).toBeLessThan(answerMs - 500);
    },
  );

  // PostgreSQL only: a second transaction while the login's is under way (PGlite has one connection).
  it.skipIf(t.driver !== 'postgres')(
    'a user deleted while the password is checked: the login fails, and no event about the user follows',
    async () => {
      const doomedEmail = uniqueEmail('doomed');
      const doomed = await tenant.caller.users.create({ email: doomedEmail, password: PASSWORD });
      const { opened: released, open: release } = gate();
      const { opened: holding, open: locked } = gate();
      // The deletion holds the user's row, so the login's transaction waits for it, then finds it gone.
      const deletion = t.db.transaction(async (tx) => {
        await tx.select().from(users).where(eq(users.id, doomed.id)).for('update');
        locked();
        await released;
        await tx.delete(users).where(eq(users.id, doomed.id));
      });
      await holding;
      const login = tenant.request('/v1/logins', { json: { email: doomedEmail, password: PASSWORD } });
      await new Promise((resolve) => setTimeout(resolve, 300)); // the password check, then the wait
      release();
      await deletion;
      await expectApiError(await login, 401, 'invalid_credentials');
      const dataOf = async (type: string) =>
        (await eventsOf(tenant, type)).map((e) => e.data as { userId: string | null; email: string; reason?: string });
      expect((await dataOf('user.login.succeeded')).filter((d) => d.userId === doomed.id)).toEqual([]);
      const failed = (await dataOf('user.login.failed')).filter((d) => d.email === doomedEmail);
      expect(failed).toMatchObject([{ userId: null, reason: 'unknown_user' }]);
    },
  );

  it('bad input → 400 before any password work', async () => {
    for (const json of [
      { email },
      { password: PASSWORD },
      { email: 'nope', password: PASSWORD },
      { email, password: '' },
      { email, password: PASSWORD, ipAddress: '999.1.1.1' },
    ]) {
      await expectApiError(await login(json), 400, 'validation_error');
    }
  });
});
