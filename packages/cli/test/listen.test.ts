import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  type CliProcess,
  deliveryData,
  deliveryEvent,
  ENDPOINT_ID,
  SESSION_EVENT,
  startFakeHerald,
  startListen,
  startServer,
  streamEvents,
} from './harness';

const sessionEvent = (session: string) => `event: session\ndata: ${JSON.stringify({ session })}\n\n`;

/**
 * `herald listen` as a process against a fake Herald API and a local receiver (both real HTTP servers
 * in the test): what it does with malformed events, a stream that keeps ending, refusals on reconnect.
 */
describe('herald listen', () => {
  async function listenAgainst(fake: { url: string }, flags: string[] = []) {
    const receiver = await startServer((_request, response) => {
      response.writeHead(200);
      response.end('ok');
    });
    return startListen(fake.url, `${receiver.url}/hooks`, flags);
  }

  /** Ctrl-C: the CLI removes the development endpoint and exits 0, without a stack trace. */
  async function stop(cli: CliProcess, fake: { wasDeleted(): boolean }) {
    cli.child.kill('SIGINT');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.stdout()).toContain(`Removed the development endpoint ${ENDPOINT_ID}`);
    expect(fake.wasDeleted()).toBe(true);
    expect(cli.stderr()).not.toMatch(/\n\s+at /);
  }

  it('skips each malformed delivery event with one warning, on the same stream, and forwards the next', async () => {
    const fake = await startFakeHerald((response) =>
      streamEvents(
        response,
        SESSION_EVENT,
        'event: delivery\ndata: null\n\n',
        'event: delivery\ndata: {"deliveryId":"dlv_0"}\n\n',
        'event: delivery\ndata: not json\n\n',
        `event: delivery\ndata: ${deliveryData({ attempt: 0 })}\n\n`,
        `event: delivery\ndata: ${deliveryData()}\n\n`,
      ),
    );
    const cli = await listenAgainst(fake);
    await cli.waitForOutput((stdout) => /user\.created\s+evt_1\s+200/.test(stdout));
    expect(cli.stderr().trimEnd().split('\n')).toEqual([
      '! skipped a malformed delivery event: not a JSON object',
      '! skipped a malformed delivery event: missing or invalid eventId, eventType, body, attempt, headers',
      '! skipped a malformed delivery event: not JSON',
      '! skipped a malformed delivery event: missing or invalid attempt',
    ]);
    expect(fake.streamOpenedAt).toHaveLength(1);
    await stop(cli, fake);
    expect(fake.reports).toMatchObject([{ session: 'listen_test', deliveryId: 'dlv_1', statusCode: 200 }]);
  });

  it('tries a report the API could not take now (429, 503) again after a pause, and forwards once', async () => {
    const answers = [429, 503];
    const fake = await startFakeHerald(
      (response) => streamEvents(response, SESSION_EVENT, deliveryEvent(1)),
      () => answers.shift() ?? 202,
    );
    let forwarded = 0;
    const receiver = await startServer((_request, response) => {
      forwarded++;
      response.writeHead(200).end('ok');
    });
    const cli = await startListen(fake.url, `${receiver.url}/hooks`);
    await expect.poll(() => fake.reports.length, { timeout: 10_000 }).toBe(3);
    expect(forwarded).toBe(1);
    expect(fake.reports.map((r) => [r.deliveryId, r.statusCode])).toEqual([
      ['dlv_1', 200],
      ['dlv_1', 200],
      ['dlv_1', 200],
    ]);
    await stop(cli, fake);
    // Taken in the end: nothing to warn about (before, a 429 was a warning and a lost report).
    expect(cli.stderr()).toBe('');
  });

  it('removes the development endpoint on SIGHUP (a closed terminal), as on Ctrl-C', async () => {
    const fake = await startFakeHerald((response) => streamEvents(response, SESSION_EVENT));
    const cli = await listenAgainst(fake);
    cli.child.kill('SIGHUP');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(fake.wasDeleted()).toBe(true);
  });

  it('with --json, warns on stderr as JSON lines; stdout stays one JSON object per line', async () => {
    const fake = await startFakeHerald((response) =>
      streamEvents(
        response,
        SESSION_EVENT,
        'event: delivery\ndata: not json\n\n',
        `event: delivery\ndata: ${deliveryData()}\n\n`,
      ),
    );
    const cli = await listenAgainst(fake, ['--json']);
    await cli.waitForOutput((stdout) => stdout.includes('"evt_1"'));
    expect(
      cli
        .stderr()
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual([{ type: 'warning', message: 'skipped a malformed delivery event: not JSON' }]);
    const lines = cli
      .stdout()
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => line.type)).toEqual(['ready', expect.any(String)]);
    cli.child.kill('SIGINT');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
  });

  it('backs off, longer each time, when the stream keeps ending, and says why', async () => {
    // The first stream ends before its session, the others right after it: neither counts as healthy.
    const fake = await startFakeHerald((response, open) => {
      streamEvents(response, ...(open === 1 ? [] : [SESSION_EVENT]));
      response.end();
    });
    const cli = await listenAgainst(fake);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await stop(cli, fake);
    // 500 ms, then 1 s, then 2 s (each drawn from its upper half): 3 to 5 opens in 3 s, not thousands.
    expect(fake.streamOpenedAt.length).toBeGreaterThanOrEqual(3);
    expect(fake.streamOpenedAt.length).toBeLessThanOrEqual(5);
    const gaps = fake.streamOpenedAt.slice(1).map((at, i) => at - fake.streamOpenedAt[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(200);
    expect(gaps[1]).toBeGreaterThanOrEqual(450);
    const notes = cli.stderr().trimEnd().split('\n');
    expect(notes[0]).toMatch(/^! the stream ended before it announced a session; reconnecting in \d\.\d s$/);
    expect(notes.slice(1).every((line) => /^! the stream ended; reconnecting in \d\.\d s$/.test(line))).toBe(true);
  });

  it('reconnects after 429/502/503/504 when opening the stream, honouring Retry-After', async () => {
    const fake = await startFakeHerald((response, open) => {
      const refusal = [undefined, 503, 429, 502, 504][open];
      if (refusal === undefined)
        return streamEvents(response, SESSION_EVENT, `event: delivery\ndata: ${deliveryData()}\n\n`);
      response.writeHead(refusal, {
        'content-type': 'application/json',
        'x-request-id': 'req_test',
        ...(open === 1 ? { 'retry-after': '1' } : {}),
      });
      response.end(JSON.stringify({ error: { code: 'unavailable', message: 'restarting' } }));
    });
    const cli = await listenAgainst(fake);
    await cli.waitForOutput((stdout) => /evt_1\s+200/.test(stdout));
    expect(fake.streamOpenedAt).toHaveLength(5);
    // Retry-After: 1 outweighs the first backoff step (at most 500 ms).
    expect(fake.streamOpenedAt[1]! - fake.streamOpenedAt[0]!).toBeGreaterThanOrEqual(950);
    expect(cli.stderr()).toMatch(/^! opening the listen stream answered HTTP 503; reconnecting in 1\.0 s\n/);
    for (const status of [429, 502, 504]) expect(cli.stderr()).toContain(`answered HTTP ${status}; reconnecting`);
    await stop(cli, fake);
  });

  it.each([
    [401, 'unauthorized', /^herald: The API key was refused \(401 unauthorized\)/],
    [403, 'forbidden', /^herald: opening the listen stream failed: no \(403 forbidden\)/],
    [404, 'not_found', /^herald: opening the listen stream failed: no \(404 not_found\)/],
  ])('ends the session on %i when opening the stream, and removes the endpoint', async (status, code, line) => {
    const fake = await startFakeHerald((response) => {
      response.writeHead(status, { 'content-type': 'application/json', 'x-request-id': 'req_test' });
      response.end(JSON.stringify({ error: { code, message: 'no' } }));
    });
    const cli = await listenAgainst(fake);
    expect((await cli.exited).code).toBe(1);
    expect(cli.stderr()).toMatch(line);
    expect(cli.stderr().split('\n')).toHaveLength(2);
    expect(fake.wasDeleted()).toBe(true);
    expect(fake.streamOpenedAt).toHaveLength(1);
  });

  it('reads an event whose CRLF the network split between two chunks', async () => {
    const fake = await startFakeHerald((response) => {
      streamEvents(response, SESSION_EVENT, 'event: delivery\r');
      setTimeout(() => response.write(`\ndata: ${deliveryData()}\r\n\r\n`), 100);
    });
    const cli = await listenAgainst(fake);
    await cli.waitForOutput((stdout) => /user\.created\s+evt_1\s+200/.test(stdout));
    await stop(cli, fake);
    expect(cli.stderr()).toBe('');
  });

  /**
   * An API restart ends the stream while dlv_1 is being forwarded: the API gives the old session's leases
   * back, and the new stream takes dlv_1 again and sends it. Only the new session holds the lease, so a
   * report naming the old one is refused (409) and the new lease would hold the stream until it ran out.
   * dlv_2, sent after it on the new stream, shows the CLI has read the second dlv_1.
   */
  async function restartDuring(during: 'forward' | 'report' | 'report, before the resend') {
    let firstStream: ServerResponse | undefined;
    let sawSecond = () => {};
    const secondSeen = new Promise<void>((resolve) => (sawSecond = resolve));
    let refusedOld = () => {};
    const oldRefused = new Promise<void>((resolve) => (refusedOld = resolve));
    const fake = await startFakeHerald(
      (response, open) => {
        if (open === 1) {
          firstStream = response;
          return streamEvents(response, sessionEvent('listen_old'), deliveryEvent(1));
        }
        if (during !== 'report, before the resend') {
          return streamEvents(response, sessionEvent('listen_new'), deliveryEvent(1), deliveryEvent(2));
        }
        // dlv_1 comes back well after the old session's report was refused.
        streamEvents(response, sessionEvent('listen_new'));
        void oldRefused.then(() => setTimeout(() => response.write(deliveryEvent(1) + deliveryEvent(2)), 300));
      },
      async (report) => {
        if (report.session === 'listen_new') return 202;
        if (during === 'forward') return 409;
        if (during === 'report, before the resend') {
          // The restart ends the old stream and gives its leases back before the report arrives.
          firstStream?.end();
          refusedOld();
          return 409;
        }
        // The report was sent while listen_old held the lease; the restart happens before it is answered.
        firstStream?.end();
        await secondSeen;
        return 409;
      },
    );
    const received: string[] = [];
    let releaseFirst = () => {};
    const receiver = await startServer((request, response) => {
      const id = String(request.headers['webhook-id']);
      received.push(id);
      if (id === 'evt_2') sawSecond();
      // The local URL answers dlv_1 when the test says so (after the reconnect), the rest at once.
      if (id === 'evt_1' && during === 'forward' && received.length === 1) {
        releaseFirst = () => response.end('ok');
      } else response.end('ok');
    });
    const cli = await startListen(fake.url, `${receiver.url}/hooks`);
    return { fake, cli, received, firstStream: () => firstStream, releaseFirst: () => releaseFirst() };
  }

  it('after a reconnect, reports a delivery still being forwarded under the new session, and forwards it once', async () => {
    const { fake, cli, received, firstStream, releaseFirst } = await restartDuring('forward');
    await expect.poll(() => received.includes('evt_1'), { timeout: 10_000 }).toBe(true);
    firstStream()?.end();
    await expect.poll(() => received.includes('evt_2'), { timeout: 10_000 }).toBe(true);
    releaseFirst();
    await expect.poll(() => fake.reports.length, { timeout: 10_000 }).toBe(2);
    expect(received).toEqual(['evt_1', 'evt_2']);
    expect(fake.reports).toMatchObject([
      { session: 'listen_new', deliveryId: 'dlv_2', statusCode: 200 },
      { session: 'listen_new', deliveryId: 'dlv_1', statusCode: 200 },
    ]);
    expect(fake.streamOpenedAt).toHaveLength(2);
    await stop(cli, fake);
    expect(cli.stderr()).toMatch(/^! the stream ended; reconnecting in \d\.\d s\n$/);
  });

  it('reports again under the new session when the old one is refused because the stream reconnected meanwhile', async () => {
    const { fake, cli, received } = await restartDuring('report');
    await expect.poll(() => fake.reports.length, { timeout: 10_000 }).toBe(3);
    expect(received).toEqual(['evt_1', 'evt_2']);
    expect(fake.reports.filter((report) => report.deliveryId === 'dlv_1')).toMatchObject([
      { session: 'listen_old', statusCode: 200 },
      { session: 'listen_new', statusCode: 200 },
    ]);
    expect(fake.streamOpenedAt).toHaveLength(2);
    await stop(cli, fake);
    expect(cli.stderr()).toMatch(/^! the stream ended; reconnecting in \d\.\d s\n$/);
  });

  it('reports the answer it had when a delivery whose report was refused comes back, without forwarding it again', async () => {
    const { fake, cli, received } = await restartDuring('report, before the resend');
    await expect.poll(() => fake.reports.length, { timeout: 10_000 }).toBe(3);
    expect(received).toEqual(['evt_1', 'evt_2']);
    expect(fake.reports.filter((report) => report.deliveryId === 'dlv_1')).toMatchObject([
      { session: 'listen_old', statusCode: 200 },
      { session: 'listen_new', statusCode: 200 },
    ]);
    await stop(cli, fake);
    expect(cli.stderr()).toContain('dlv_1: the lease ended before the report');
    expect(cli.stderr()).toContain('dlv_1: sent again after its report was refused');
  });
});
