import { connect } from 'node:net';
import { createLogger } from '@herald/config';
import { users } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../src/server';
import type { Tenant } from './harness';
import { ADMIN_TOKEN, createTenant, expectApiError, expectJson, uniqueEmail } from './harness';

interface LogLine {
  level: number;
  msg: string;
  requestId?: string;
  status?: number;
  err?: { type: string; message: string };
}

/** A real pino logger writing into memory. */
function memoryLogger() {
  const raw: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void raw.push(line) } });
  return { logger, raw, lines: () => raw.map((line) => JSON.parse(line) as LogLine) };
}

describeDb('logs', (t) => {
  const log = memoryLogger();
  let tenant: Tenant;
  /** Everything secret the requests below handled: none may reach the log. */
  const secrets: string[] = [ADMIN_TOKEN];
  const password = 'hunter2 but longer';

  beforeAll(async () => {
    // A users insert that fails after its password was hashed: the failing
    // query's parameters include the hash.
    await t.db.execute(
      sql.raw(`
      create function test_refuse_user() returns trigger language plpgsql as $$
      begin
        if new.email like 'explode%' then raise exception 'forced users insert failure'; end if;
        return new;
      end $$`),
    );
    await t.db.execute(
      sql`create trigger test_refuse_user before insert on users for each row execute function test_refuse_user()`,
    );

    tenant = await createTenant(t.db, { logger: log.logger });
    secrets.push(tenant.apiKey, password);
    const user = await expectJson<{ id: string; email: string }>(
      await tenant.request('/v1/users', { json: { email: uniqueEmail(), password } }),
      201,
    );
    const [row] = await t.db.select({ hash: users.passwordHash }).from(users).where(eq(users.id, user.id));
    secrets.push(row!.hash!, row!.hash!.split('$')[3]!, row!.hash!.split('$')[4]!);
    await tenant.request('/v1/logins', { json: { email: user.email, password } });
    await tenant.request('/v1/logins', { json: { email: user.email, password: `${password}!` } });
    const key = await expectJson<{ id: string; key: string }>(
      await tenant.request('/v1/api-keys', { json: { name: 'logged?' } }),
      201,
    );
    secrets.push(key.key);
    await tenant.request(`/v1/api-keys/${key.id}`, { method: 'DELETE' });
    await tenant.testApp.app.request('/v1/users', { headers: { authorization: `Bearer ${key.key}` } });
    await tenant.request('/v1/users', {
      method: 'POST',
      body: `{"password":"${password}",`,
      headers: { 'content-type': 'application/json' },
    });
    await tenant.request('/v1/users', { json: { email: 'not-an-email', password } });
    // A key put in the path by mistake, the tenant's own and a revoked one.
    await tenant.request(`/v1/users/${tenant.apiKey}`);
    await tenant.request(`/v1/endpoints/${key.key}/secret`);
    // A signing secret is base64: it may hold `/`. A prefix after an id's, and the admin token
    // (no prefix), as it is and percent-encoded.
    const signingSecret = 'whsec_MPpnRUQ/39wYDIwxDqT/i/GscEWXwH14W2wTYs=';
    secrets.push(signingSecret.slice('whsec_'.length).split('/').at(-1)!);
    await tenant.request(`/v1/users/${signingSecret}`);
    await tenant.request(`/v1/users/usr_${tenant.apiKey}`);
    // After a space, a quote, or a whole header value pasted into a URL template.
    await tenant.request(`/v1/api-keys/%20${tenant.apiKey}`, { method: 'DELETE' });
    await tenant.request(`/v1/users/%22${tenant.apiKey}%22`);
    await tenant.request(`/v1/users/Bearer%20${tenant.apiKey}`);
    secrets.push(ADMIN_TOKEN.slice('admin_'.length));
    await tenant.request(`/v1/nothing/${ADMIN_TOKEN}`);
    await tenant.request(`/v1/nothing/${ADMIN_TOKEN.replace('_', '%5f')}`);
  });

  it('no line carries an API key, the admin token, a password or any part of its hash', () => {
    expect(log.raw.length).toBeGreaterThan(5);
    for (const line of log.raw) for (const secret of secrets) expect(line).not.toContain(secret);
    expect(log.raw.join('\n')).not.toContain('$scrypt$');
    // The request lines of keys in paths keep their shape, not their value.
    expect(log.lines().filter((line) => (line as { path?: string }).path?.includes('sk_[redacted]'))).toHaveLength(6);
    expect(
      log.lines().filter((line) => (line as { path?: string }).path === '/v1/users/whsec_[redacted]'),
    ).toHaveLength(1);
    expect(log.lines().filter((line) => (line as { path?: string }).path === '/v1/nothing/[redacted]')).toHaveLength(2);
  });

  it('every request logs one line with its request id, which the response echoes as X-Request-Id', async () => {
    const before = log.raw.length;
    const response = await tenant.request('/v1/users');
    const [line] = log.lines().slice(before);
    expect(line).toMatchObject({ msg: 'request', status: 200, requestId: response.headers.get('x-request-id') });
    for (const request of log.lines().filter((l) => l.msg === 'request'))
      expect(request.requestId).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  });

  it('a sane caller X-Request-Id is kept; anything else is replaced, not logged', async () => {
    const kept = await tenant.request('/v1/users', { headers: { 'x-request-id': 'trace-123.abc' } });
    expect(kept.headers.get('x-request-id')).toBe('trace-123.abc');
    const forged = `x ${'"'}injected${'"'}: true`;
    const replaced = await tenant.request('/v1/users', { headers: { 'x-request-id': forged } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(log.raw.join('\n')).not.toContain('injected');
  });

  describe('a failing query is logged with its request id and without its parameters', () => {
    it.each([
      ['REST', '/v1/users'],
      ['tRPC', '/trpc/users.create'],
    ])('%s', async (_label, path) => {
      const secretPassword = `explosive ${path} password`;
      const before = log.raw.length;
      const response = await tenant.request(path, {
        json: { email: uniqueEmail('explode'), password: secretPassword },
      });
      expect(response.status).toBe(500);
      const requestId = response.headers.get('x-request-id');
      if (path.startsWith('/v1')) await expectApiError(response, 500, 'internal_error');

      const written = log.raw.slice(before);
      const errors = log
        .lines()
        .slice(before)
        .filter((l) => l.level >= 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({
        requestId,
        err: { message: expect.stringMatching(/^Failed query: .*insert into "?users"? /s) },
      });
      expect(JSON.stringify(errors[0])).toContain('forced users insert failure');
      for (const line of written) {
        expect(line).not.toContain(secretPassword);
        expect(line).not.toContain('$scrypt$');
        expect(line).not.toContain('explode');
      }
    });
  });

  it('a client that drops its upload midway is its own 499 line, not "database unavailable" (503)', async () => {
    const server = await listen(tenant.testApp.app);
    try {
      const socket = connect(server.port, '127.0.0.1');
      const requestId = `dropped-${Date.now()}`;
      socket.on('error', () => {});
      socket.write(
        `POST /v1/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tenant.apiKey}\r\n` +
          `X-Request-Id: ${requestId}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email"`,
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      socket.destroy();
      await expect.poll(() => log.lines().filter((line) => line.requestId === requestId).length).toBeGreaterThan(0);
      const lines = log.lines().filter((line) => line.requestId === requestId);
      expect(lines.map((line) => line.msg)).not.toContain('database unavailable');
      expect(lines.find((line) => line.status !== undefined)?.status).toBe(499);
    } finally {
      await server.close({ forceAfterMs: 0 });
    }
  });
});
