import { describe, expect, it } from 'vitest';
import { answerJson, runCli, startCli, startServer } from './harness';

/**
 * A broken or hostile server must not make the CLI loop, hang or crash: every case ends with one line
 * and exit code 1 (or, for Ctrl-C, at once with 0).
 */
describe('herald against a broken API', () => {
  const env = (url: string) => ({ HERALD_API_URL: url, HERALD_API_KEY: 'sk_test' });

  /** An API answering every request with `answer(request number, URL)` as Herald's JSON; counts requests. */
  async function api(answer: (n: number, url: URL) => unknown) {
    let requests = 0;
    const server = await startServer((request, response) =>
      answerJson(response, 200, answer(++requests, new URL(request.url!, 'http://x'))),
    );
    return { url: server.url, requests: () => requests };
  }

  it.each([
    ['the same cursor', ['c1', 'c1']],
    ['a cursor that leads back', ['c1', 'c2', 'c1']],
  ])('stops endpoints list when the API answers %s', async (_case, cursors) => {
    const server = await api((n) => ({ data: [], nextCursor: cursors[Math.min(n, cursors.length) - 1] }));
    const run = await runCli(['endpoints', 'list'], env(server.url));
    expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({
      code: 1,
      stdout: '',
      stderr: `herald: listing endpoints failed: the API at ${server.url} answered a page it had already sent (its cursor did not advance)\n`,
    });
    expect(server.requests()).toBe(cursors.length);
  });

  it.each([
    [['endpoints', 'list'], 1000, 1],
    [['trigger', 'user.created'], 1000, 1],
    [['endpoints', 'list'], 400, 250],
  ])('stops %j after %i pages when every page has a new cursor', async (args, pages, perPage) => {
    const server = await api((n) => ({
      data: Array.from({ length: perPage }, (_, i) => ({ id: `ep_${n}_${i}`, kind: 'http', url: 'https://x' })),
      nextCursor: `c${n}`,
    }));
    const run = await runCli(args, env(server.url));
    expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({
      code: 1,
      stdout: '',
      stderr: `herald: listing endpoints failed: the API at ${server.url} sent ${pages} pages (${pages * perPage} items) and its cursor still did not end\n`,
    });
    expect(server.requests()).toBe(pages);
  });

  it.each([
    ['skipping to the end of the feed', []],
    ['from the start', ['--from-start']],
  ])('stops events tail when a page does not advance (%s)', async (_case, flags) => {
    const event = { id: 'evt_same', type: 'user.created', timestamp: 't', data: {} };
    const server = await api(() => ({ data: Array.from({ length: 100 }, () => event), nextCursor: null }));
    const run = await runCli(['events', 'tail', ...flags, '--json'], env(server.url));
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stderr.split('\n').at(-2)!)).toEqual({
      error: {
        code: 'cursor_loop',
        message: `reading the event feed failed: the API at ${server.url} answered a page it had already sent (its cursor did not advance)`,
      },
    });
    expect(server.requests()).toBe(2);
  });

  it.each([
    [['endpoints', 'list'], 'listing endpoints', { data: 'x', nextCursor: null }],
    [['deliveries', 'list'], 'listing deliveries', { data: 'x' }],
    [['deliveries', 'list'], 'listing deliveries', { data: [{ id: 5 }] }],
    [['trigger', 'user.created'], 'listing endpoints', { data: { id: 'ep_1' } }],
    [['events', 'tail', '--from-start'], 'reading the event feed', { data: [null] }],
    [['endpoints', 'list'], 'listing endpoints', { data: [], nextCursor: 7 }],
  ])('%j: a 200 whose list is not a list is an unexpected answer, in one line', async (args, what, body) => {
    const server = await api(() => body);
    const run = await runCli(args, env(server.url));
    expect({ code: run.code, stderr: run.stderr }).toEqual({
      code: 1,
      stderr: `herald: ${what} failed: unexpected answer from the API at ${server.url}\n`,
    });
  });

  it.each([301, 302, 303, 307, 308])(
    'reports a %i from the API as where to point --api-url, without following it',
    async (status) => {
      const moved = await api(() => ({ endpoint: { id: 'ep_1', url: 'https://example.com/h' }, secret: 'whsec_x' }));
      const server = await startServer((request, response) => {
        response.writeHead(status, { location: `${moved.url}${request.url}` });
        response.end();
      });
      const run = await runCli(['endpoints', 'create', '--url', 'https://example.com/h'], env(server.url));
      expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({
        code: 1,
        stdout: '',
        stderr: `herald: creating the endpoint failed: the API URL ${server.url} redirects to ${moved.url}; use that (--api-url / HERALD_API_URL)\n`,
      });
      expect(moved.requests()).toBe(0);
    },
  );

  it('shows a redirect target without its user name or password, bounded, and says when there is none', async () => {
    const locations = [`http://admin:hunter2@moved.example/${'x'.repeat(500)}é`, undefined];
    const runs = await Promise.all(
      locations.map(async (location) => {
        const server = await startServer((_request, response) => {
          response.writeHead(302, location ? { location } : {});
          response.end();
        });
        return { url: server.url, ...(await runCli(['endpoints', 'list'], env(server.url))) };
      }),
    );
    const [withPassword, withoutLocation] = runs;
    expect(withPassword!.code).toBe(1);
    expect(withPassword!.stderr).toBe(
      `herald: listing endpoints failed: the API URL ${withPassword!.url} redirects to ${`http://moved.example/${'x'.repeat(500)}`.slice(0, 200)}…; use that (--api-url / HERALD_API_URL)\n`,
    );
    expect({ code: withoutLocation!.code, stderr: withoutLocation!.stderr }).toEqual({
      code: 1,
      stderr: `herald: listing endpoints failed: the API URL ${withoutLocation!.url} redirects (HTTP 302) without saying where; check --api-url / HERALD_API_URL\n`,
    });
  });

  it('shows a cell the API sent as another type than a string instead of failing on it', async () => {
    const server = await api(() => ({
      data: [{ id: 'dlv_1', eventType: 7, status: null, attemptCount: '1', lastStatusCode: 200, endpointId: {} }],
    }));
    const run = await runCli(['deliveries', 'list'], env(server.url));
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[1]).toMatch(/^dlv_1\s+7\s+-\s+1\s+200\s+\{\}\s+-$/);
    // An object that String() throws on (its toString is not a function) is text too.
    const hostile = await api(() => ({
      data: [
        {
          id: 'dlv_2',
          eventType: { toString: 1 },
          status: 'pending',
          attemptCount: 1,
          lastStatusCode: null,
          endpointId: 'ep_1',
        },
      ],
    }));
    const survived = await runCli(['deliveries', 'list'], env(hostile.url));
    expect({ code: survived.code, stderr: survived.stderr }).toEqual({ code: 0, stderr: '' });
    expect(survived.stdout).toContain('{"toString":1}');
  });

  it('gives up on an answer that trickles in, after --request-timeout', async () => {
    // Headers at once, then a byte every 200 ms, forever: no single wait is long, the whole is endless.
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req_test' });
      response.write('{');
      const drip = setInterval(() => response.write(' '), 200);
      response.on('close', () => clearInterval(drip));
    });
    const started = Date.now();
    const run = await runCli(['endpoints', 'list', '--request-timeout', '1'], env(server.url));
    expect({ code: run.code, stderr: run.stderr }).toEqual({
      code: 1,
      stderr: `herald: listing endpoints failed: no complete answer from ${server.url} within 1 s (--request-timeout)\n`,
    });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('ends events tail on the first Ctrl-C while a request hangs', async () => {
    let requests = 0;
    const server = await startServer(() => {
      requests++;
    });
    const tail = startCli(['events', 'tail', '--from-start'], env(server.url));
    await expect.poll(() => requests, { timeout: 10_000 }).toBe(1);
    const stoppedAt = Date.now();
    tail.child.kill('SIGINT');
    expect(await tail.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - stoppedAt).toBeLessThan(2_000);
    expect(tail.stderr()).toBe('');
  });
});
