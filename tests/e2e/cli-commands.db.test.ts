import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listen } from '@herald/api';
import { describeDb } from '@herald/db/testing';
import { expect, it, onTestFinished } from 'vitest';
import { closedPort, PROCESS_TEST_TIMEOUT_MS, runCli, startCli } from './cli-harness';
import { startHerald, waitFor, webhookHeaders } from './harness';

/**
 * The `herald` commands as real processes against a real API (in process, on a real socket) on
 * both drivers: what they print with --json, what they change, and their one-line errors.
 * `herald listen` end to end: cli-listen.db.test.ts.
 */
describeDb('herald CLI commands', (t) => {
  it(
    'creates and lists endpoints, triggers a test event, verifies it, lists and retries deliveries, tails events',
    async () => {
      const h = await startHerald(t);
      const server = await listen(h.app);
      onTestFinished(() => server.close());
      const receiver = await h.receiver();
      const p = await h.project();
      const env = { HERALD_API_URL: server.url, HERALD_API_KEY: p.apiKey };
      const json = async (args: string[], input?: string) => {
        const run = await runCli([...args, '--json'], env, input);
        expect({ args, code: run.code, stderr: run.stderr }).toEqual({ args, code: 0, stderr: '' });
        return JSON.parse(run.stdout);
      };

      const created = await json(['endpoints', 'create', '--url', `${receiver.url}/hooks`, '--events', 'user.created']);
      expect(created.endpoint).toMatchObject({
        kind: 'http',
        url: `${receiver.url}/hooks`,
        eventTypes: ['user.created'],
      });
      expect(created.secret).toMatch(/^whsec_/);

      // The config file in the user's config directory works without flags or environment.
      const configHome = mkdtempSync(join(tmpdir(), 'herald-cli-config-'));
      mkdirSync(join(configHome, 'herald'));
      writeFileSync(
        join(configHome, 'herald', 'config.json'),
        JSON.stringify({ apiUrl: server.url, apiKey: p.apiKey }),
      );
      const listed = await runCli(['endpoints', 'list', '--json'], { XDG_CONFIG_HOME: configHome });
      expect(listed.code).toBe(0);
      expect(JSON.parse(listed.stdout).map((e: { id: string }) => e.id)).toEqual([created.endpoint.id]);

      // No listen session running: trigger needs --endpoint, and says so in one line.
      const noListen = await runCli(['trigger', 'user.created'], env);
      expect(noListen.code).toBe(1);
      expect(noListen.stderr).toBe(
        'herald: No herald listen is running for this project: start one, or pass --endpoint <id>\n',
      );

      const [sent] = await json(['trigger', 'user.created', '--endpoint', created.endpoint.id]);
      expect(sent).toMatchObject({ endpointId: created.endpoint.id, eventType: 'user.created' });
      const [request] = await receiver.waitForRequests(1);
      expect(request!.webhookId).toBe(sent.eventId);

      // verify: the received body on stdin, the headers as JSON; a wrong secret is refused.
      const headers = JSON.stringify(webhookHeaders(request!));
      expect(await json(['verify', '--secret', created.secret, '--headers', headers], request!.body)).toMatchObject({
        valid: true,
        id: sent.eventId,
      });
      const wrong = await runCli(
        ['verify', '--secret', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', '--headers', headers],
        {},
        request!.body,
      );
      expect({ code: wrong.code, stderr: wrong.stderr }).toEqual({
        code: 1,
        stderr: 'herald: Signature invalid: No matching webhook signature found (no_matching_signature)\n',
      });

      const deliveries = await waitFor(async () => {
        const list = await json(['deliveries', 'list', '--status', 'succeeded']);
        return list.length === 1 ? list : null;
      });
      expect(deliveries[0]).toMatchObject({ eventId: sent.eventId, status: 'succeeded', attemptCount: 1 });
      const retried = await json(['deliveries', 'retry', deliveries[0].id]);
      expect(retried).toMatchObject({ id: deliveries[0].id });
      await receiver.waitForRequests(2);
      expect(receiver.requests[1]!.webhookId).toBe(sent.eventId);

      // events tail: only new events (the feed is skipped to its end first); exits after --count.
      const before = await p.createUser();
      // The feed shows an event once older transactions on the server have ended: wait until it does.
      await p.events('user.created');
      const tail = startCli(
        ['events', 'tail', '--type', 'user.created', '--count', '1', '--interval', '100', '--json'],
        env,
      );
      let after: { id: string } | null = null;
      // It prints nothing until an event arrives: keep creating users until the first one shows.
      const line = await waitFor(async () => {
        after = await p.createUser();
        return tail.jsonLines()[0] ?? null;
      });
      expect(line.type).toBe('user.created');
      expect(line.data.user.id).not.toBe(before.id);
      expect((await tail.exited).code).toBe(0);
      expect(after).not.toBeNull();
      const fromStart = await json(['events', 'tail', '--type', 'user.created', '--from-start', '--count', '1']);
      expect(fromStart.data.user.id).toBe(before.id);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it('trigger finds the listen endpoint past the first page of 100 endpoints', async () => {
    const h = await startHerald(t, { start: false, api: { maxEndpointsPerProject: 1_000 } });
    const server = await listen(h.app);
    onTestFinished(() => server.close());
    const p = await h.project();
    for (let i = 0; i < 100; i += 20)
      await Promise.all(
        Array.from({ length: 20 }, (_, j) => p.createEndpoint({ url: `https://hooks.example.com/${i + j}` })),
      );
    // Created last, so its id sorts after the other hundred: on the second page.
    const { endpoint } = await p.call('/v1/endpoints/listen', 201, { json: { forwardTo: 'http://localhost:9/hooks' } });
    const run = await runCli(['trigger', 'user.created', '--json'], {
      HERALD_API_URL: server.url,
      HERALD_API_KEY: p.apiKey,
    });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(run.stdout)).toEqual([expect.objectContaining({ endpointId: endpoint.id })]);
  });

  it('fails with one line and exit code 1 for a wrong key, a wrong URL, an unreachable server', async () => {
    const h = await startHerald(t, { start: false });
    const server = await listen(h.app);
    onTestFinished(() => server.close());
    const notHerald = await h.receiver(() => ({ status: 200, body: '<html>hello</html>' }));
    const p = await h.project();
    const port = await closedPort();
    const cases: { env: Record<string, string>; stderr: string | RegExp }[] = [
      {
        env: { HERALD_API_URL: server.url, HERALD_API_KEY: 'sk_wrong' },
        stderr: `herald: The API key was refused (401 unauthorized) by ${server.url}: check --api-key / HERALD_API_KEY\n`,
      },
      {
        env: { HERALD_API_URL: notHerald.url, HERALD_API_KEY: p.apiKey },
        stderr: `herald: No Herald API at ${notHerald.url}: listing endpoints answered HTTP 200 without Herald's JSON (check --api-url / HERALD_API_URL)\n`,
      },
      {
        env: { HERALD_API_URL: `http://127.0.0.1:${port}`, HERALD_API_KEY: p.apiKey },
        stderr: `herald: Cannot reach the Herald API at http://127.0.0.1:${port}: connection refused (is it running?)\n`,
      },
      {
        env: { HERALD_API_URL: 'localhost:3000', HERALD_API_KEY: p.apiKey },
        stderr: 'herald: Invalid API URL "localhost:3000": only http and https are supported\n',
      },
      { env: { HERALD_API_URL: server.url }, stderr: /^herald: No API key: pass --api-key, set HERALD_API_KEY/ },
    ];
    // Independent processes: run side by side.
    const runs = await Promise.all(cases.map((c) => runCli(['endpoints', 'list'], c.env)));
    for (const [i, run] of runs.entries()) {
      expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 1, stdout: '' });
      expect(run.stderr).toMatch(cases[i]!.stderr);
      expect(run.stderr.split('\n')).toHaveLength(2);
    }
    // --json: the same failure as one JSON object.
    const asJson = await runCli(['endpoints', 'list', '--json'], cases[0]!.env);
    expect(asJson.code).toBe(1);
    expect(JSON.parse(asJson.stderr)).toEqual({
      error: { code: 'unauthorized', message: expect.stringContaining('401') },
    });
  });
});
