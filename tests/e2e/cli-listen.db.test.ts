import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { currentTestDriver, describeDb } from '@herald/db/testing';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { PROCESS_TEST_TIMEOUT_MS, startCli, startNode } from './cli-harness';
import { spawnDispatcher, waitFor } from './harness';

const USERS = 20;
const SKIP_REASON =
  'PostgreSQL only: the API and the dispatcher as separate processes cannot share one PGlite database';

const apiDir = path.dirname(createRequire(import.meta.url).resolve('@herald/api/package.json'));
const receiverScript = fileURLToPath(new URL('./cli-listen-receiver.ts', import.meta.url));

if (currentTestDriver() === 'pglite') {
  describe('herald listen end to end [pglite]', () => {
    it.skip(`skipped — ${SKIP_REASON}`, () => {});
  });
} else {
  describeDb('herald listen end to end', (t) => {
    it(
      `forwards ${USERS} events to a local receiver, retries a local 500, and removes its endpoint on Ctrl-C`,
      async () => {
        const adminToken = `admin_${randomBytes(12).toString('hex')}`;
        const shared = {
          DATABASE_URL: t.url!,
          HERALD_POLL_INTERVAL: '250ms',
          // The attempt answered 500 locally comes back a second later, as a real endpoint's would.
          HERALD_RETRY_SCHEDULE: '1s,1s,1s',
          HERALD_LEASE: '20s',
          HERALD_REQUEST_TIMEOUT: '5s',
        };
        // The API without a dispatcher, and a dispatcher, each its own process on PostgreSQL.
        const api = startNode(
          'src/main.ts',
          [],
          {
            ...shared,
            HERALD_DISPATCHER: 'off',
            PORT: '0',
            HOST: '127.0.0.1',
            HERALD_ADMIN_TOKEN: adminToken,
            HERALD_LOG_LEVEL: 'info',
          },
          apiDir,
        );
        const dispatcher = spawnDispatcher(shared);
        const receiver = startNode(receiverScript, []);
        const [listening, { port }] = await Promise.all([
          api.waitForLine((l) => l.msg === 'Herald API listening', 60_000),
          receiver.waitForLine((l) => typeof l.port === 'number'),
          dispatcher.ready,
        ]);
        const apiUrl: string = listening.url;
        const forwardTo = `http://127.0.0.1:${port}/webhooks`;

        const call = async (route: string, init: RequestInit & { key: string; json?: unknown }) => {
          const response = await fetch(`${apiUrl}${route}`, {
            ...init,
            headers: { authorization: `Bearer ${init.key}`, 'content-type': 'application/json' },
            ...(init.json === undefined ? {} : { method: 'POST', body: JSON.stringify(init.json) }),
          });
          return { status: response.status, body: (await response.json()) as any };
        };
        const project = await call('/v1/projects', { key: adminToken, json: { name: 'listen e2e' } });
        expect(project.status).toBe(201);
        const apiKey: string = project.body.apiKey.key;

        const cli = startCli(['listen', '--forward-to', forwardTo, '--json'], {
          HERALD_API_URL: apiUrl,
          HERALD_API_KEY: apiKey,
        });
        const ready = await cli.waitForLine((l) => l.type === 'ready');
        expect(ready).toMatchObject({ forwardTo, endpointId: expect.stringMatching(/^ep_/) });
        const endpoint = await call(`/v1/endpoints/${ready.endpointId}`, { key: apiKey });
        expect(endpoint.body).toMatchObject({ kind: 'listen', url: forwardTo });

        const userIds: string[] = [];
        for (let i = 0; i < USERS; i++) {
          const user = await call('/v1/users', { key: apiKey, json: { email: `listen-${i}@example.com` } });
          expect(user.status).toBe(201);
          userIds.push(user.body.id);
        }

        // Every event arrives at the local receiver, signed with the development endpoint's secret.
        const received = await waitFor(
          () => {
            const lines = receiver.jsonLines().filter((l) => l.request !== undefined);
            return lines.length >= USERS + 1 ? lines : null;
          },
          { timeoutMs: 60_000, message: `${USERS + 1} requests at the local receiver` },
        );
        const verifier = new Webhook(ready.secret);
        const verified = received.map(
          (r) => verifier.verify(r.body, r.headers) as { id: string; type: string; data: any },
        );
        expect(new Set(verified.map((e) => e.data.user.id))).toEqual(new Set(userIds));
        expect(verified.every((e) => e.type === 'user.created')).toBe(true);
        // Only the CLI posted here: the dispatcher never sends a listen endpoint's deliveries.
        expect(new Set(received.map((r) => String(r.headers['user-agent']).split('/')[0]))).toEqual(
          new Set(['herald-cli']),
        );

        // The local 500 is a failed attempt in the delivery log, and the retry succeeded.
        const failedLine = await cli.waitForLine((l) => l.type === 'delivery' && l.statusCode === 500);
        await cli.waitForLine(
          (l) => l.type === 'delivery' && l.deliveryId === failedLine.deliveryId && l.statusCode === 200,
        );
        expect(received[0]).toMatchObject({ status: 500 });
        expect(received.filter((r) => r.headers['webhook-id'] === received[0]!.headers['webhook-id'])).toHaveLength(2);
        const delivery = await waitFor(async () => {
          const d = await call(`/v1/deliveries/${failedLine.deliveryId}`, { key: apiKey });
          return d.body.status === 'succeeded' ? d.body : null;
        });
        expect(delivery.attempts.map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 200]);
        expect(delivery.attempts[0]).toMatchObject({ errorClass: 'http_status', responseBody: 'local failure' });
        const all = await call(`/v1/endpoints/${ready.endpointId}/deliveries?limit=100`, { key: apiKey });
        expect(all.body.data).toHaveLength(USERS);
        expect(all.body.data.every((d: { status: string }) => d.status === 'succeeded')).toBe(true);
        expect(cli.jsonLines().filter((l) => l.type === 'delivery')).toHaveLength(USERS + 1);

        // Ctrl-C: the development endpoint is removed, then the CLI exits 0.
        cli.child.kill('SIGINT');
        expect(await cli.exited).toEqual({ code: 0, signal: null });
        expect(cli.jsonLines().at(-1)).toEqual({ type: 'stopped', endpointId: ready.endpointId, removed: true });
        expect((await call(`/v1/endpoints/${ready.endpointId}`, { key: apiKey })).status).toBe(404);
        expect(cli.stderr()).toBe('');
      },
      PROCESS_TEST_TIMEOUT_MS,
    );
  });
}
