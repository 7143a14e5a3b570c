import { describeDb } from '@herald/db/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from './harness';
import { createTenant, eventsOf, expectApiError, expectJson, uniqueEmail } from './harness';

const PASSWORD = 'correct horse battery staple';

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

  it('a locked user: the right password → 403 user_locked; a wrong one → the usual 401', async () => {
    const lockedEmail = uniqueEmail('locked');
    const locked = await tenant.caller.users.create({ email: lockedEmail, password: PASSWORD });
    await tenant.caller.users.update({ id: locked.id, status: 'locked' });
    await expectApiError(await login({ email: lockedEmail, password: PASSWORD }), 403, 'user_locked');
    await expectApiError(await login({ email: lockedEmail, password: 'not the password' }), 401, 'invalid_credentials');
    const reasons = (await eventsOf(tenant, 'user.login.failed')).map((e) => (e.data as { reason: string }).reason);
    expect(reasons.slice(-2)).toEqual(['user_locked', 'invalid_password']);
  });

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
