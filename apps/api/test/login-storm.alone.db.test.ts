import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { newId, users } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { closePasswordHashing, configurePasswordHashing, hashPassword } from '@herald/router';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { Platform } from '../src/platform';
import { createPlatform } from '../src/platform';
import type { RunningServer } from '../src/server';

/**
 * A storm of wrong-password logins must not stall the rest of the process.
 * Password hashing runs on its own threads; if it ran on libuv's pool
 * (node:crypto's async scrypt, or argon2's promise API), `dns.lookup` would
 * queue behind the hashes and every webhook to a hostname would wait. So the
 * receiver is addressed as `localhost` and closes each connection, making
 * the dispatcher resolve the name for every delivery.
 */

const STORM = 50;
/** The bounds: a webhook within 3 s of its event, other requests within 2 s. */
const DELIVERY_BOUND_MS = 3000;
const REQUEST_BOUND_MS = 2000;
const ADMIN = `admin_${randomBytes(16).toString('hex')}`;

interface Received {
  type: string;
  eventAt: number;
  receivedAt: number;
}

function startReceiver(): Promise<{ server: Server; port: number; received: Map<string, Received> }> {
  const received = new Map<string, Received>();
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const receivedAt = Date.now();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        id: string;
        type: string;
        timestamp: string;
      };
      if (!received.has(body.id))
        received.set(body.id, { type: body.type, eventAt: Date.parse(body.timestamp), receivedAt });
      // A new connection, so a new DNS lookup, for every delivery.
      res.writeHead(204, { connection: 'close' }).end();
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port, received }));
  });
}

describeDb('a login storm stalls nothing else', (t) => {
  let platform: Platform;
  let api: RunningServer;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let apiKey: string;
  let projectId: string;

  /** Keep-alive, never queueing a request behind a busy connection (no socket limit). */
  const keepAlive = new Agent({ keepAlive: true });
  const call = (path: string, init: { method?: string; body?: string } = {}) =>
    new Promise<{ status: number; ms: number }>((resolve, reject) => {
      const started = Date.now();
      const req = request(`${api.url}${path}`, {
        method: init.method ?? 'GET',
        agent: keepAlive,
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - started }));
      });
      req.on('error', reject);
      req.end(init.body);
    });

  beforeAll(async () => {
    // Every login of the storm waits for a hashing thread instead of being refused with 503. The pool
    // is the process's: replaced here (an earlier file in this worker may have made it), dropped after.
    await configurePasswordHashing({ maxQueue: STORM + 14 });
    receiver = await startReceiver();
    platform = await createPlatform({
      database: { herald: t.herald },
      api: { adminToken: ADMIN, allowPrivateNetworks: true, rateLimit: { requests: 100_000, windowSeconds: 1 } },
    });
    api = await platform.listen();
    const created = await fetch(`${api.url}/v1/projects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'storm' }),
    });
    const project = (await created.json()) as { project: { id: string }; apiKey: { key: string } };
    apiKey = project.apiKey.key;
    projectId = project.project.id;
    // Subscribed to user.created only: the webhooks measured are the other work going on during the
    // storm, not the storm's own 50 user.login.failed events queueing behind one another.
    expect(
      (
        await call('/v1/endpoints', {
          method: 'POST',
          body: JSON.stringify({ url: `http://localhost:${receiver.port}/hook`, eventTypes: ['user.created'] }),
        })
      ).status,
    ).toBe(201);
  });

  afterAll(async () => {
    keepAlive.destroy();
    await platform?.close();
    await new Promise((resolve) => receiver?.server.close(resolve));
    await closePasswordHashing();
  });

  it(`${STORM} concurrent wrong-password logins: webhooks to a hostname arrive within 3 s, /healthz and /v1/users answer within 2 s`, async () => {
    // One user per login, so no account reaches its throttle; one hash for all, made before the storm.
    const hash = await hashPassword('the right password');
    const emails = Array.from({ length: STORM }, (_, i) => `storm${i}.${randomBytes(3).toString('hex')}@example.com`);
    await t.db
      .insert(users)
      .values(emails.map((email) => ({ id: newId('user'), projectId, email, passwordHash: hash })));

    // Meanwhile, every 100 ms or so: a user.created event (a webhook to `localhost`) and the two probes.
    let storming = true;
    const probes: { path: string; status: number; ms: number }[] = [];
    const created: number[] = [];
    const background = (async () => {
      for (let i = 0; storming; i++) {
        const [write, health, list] = await Promise.all([
          call('/v1/users', {
            method: 'POST',
            body: JSON.stringify({ email: `during${i}.${randomBytes(3).toString('hex')}@example.com` }),
          }),
          call('/healthz'),
          call('/v1/users?limit=5'),
          new Promise((resolve) => setTimeout(resolve, 100)),
        ]);
        created.push(write.status);
        probes.push({ path: '/healthz', ...health }, { path: '/v1/users', ...list });
      }
    })();

    const logins = await Promise.all(
      emails.map((email) => call('/v1/logins', { method: 'POST', body: JSON.stringify({ email, password: 'wrong' }) })),
    );
    storming = false;
    await background;

    expect(logins.map((l) => l.status)).toEqual(Array(STORM).fill(401));
    expect(created.length).toBeGreaterThan(0);
    expect(created.every((status) => status === 201)).toBe(true);
    const slow = probes.filter((p) => p.status !== 200 || p.ms > REQUEST_BOUND_MS);
    expect(slow).toEqual([]);

    // Every user created during the storm is delivered, each within the bound of its event.
    await vi.waitFor(() => expect(receiver.received.size).toBe(created.length), {
      timeout: 30_000,
      interval: 100,
    });
    const deliveries = [...receiver.received.values()];
    const late = deliveries.filter((d) => d.receivedAt - d.eventAt > DELIVERY_BOUND_MS);
    expect(late.map((d) => ({ lateByMs: d.receivedAt - d.eventAt }))).toEqual([]);
  });
});
