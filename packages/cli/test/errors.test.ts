import { generateSecret, signHeaders } from '@herald/signing';
import { describe, expect, it } from 'vitest';
import { networkError } from '../src/api';
import { answerJson, runCli, startServer } from './harness';

/** One-shot commands against real local servers: what they print when the input or the answer is wrong. */
describe('herald error lines', () => {
  /** A Herald-looking API that answers every request with the same endpoint list, and counts requests. */
  async function herald() {
    let requests = 0;
    const server = await startServer((_request, response) => {
      requests++;
      answerJson(response, 200, { data: [], nextCursor: null });
    });
    return { url: server.url, requests: () => requests };
  }

  it('refuses an API key that is not visible ASCII without printing it, and sends nothing', async () => {
    const api = await herald();
    for (const key of ['sk_abc\nSECRETPART', 'sk_abc SECRETPART', 'sk_abcSECRETPARTé']) {
      const run = await runCli(['endpoints', 'list'], { HERALD_API_URL: api.url, HERALD_API_KEY: key });
      expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 1, stdout: '' });
      expect(run.stderr).toBe(
        'herald: Invalid API key: it may hold only visible ASCII characters (no spaces or line breaks); check --api-key / HERALD_API_KEY\n',
      );
    }
    expect(api.requests()).toBe(0);
  });

  it('refuses an API URL with a user name or password without printing the password', async () => {
    const api = await herald();
    const withPassword = api.url.replace('http://', 'http://admin:hunter2@');
    const cases = [
      withPassword,
      'admin:hunter2@127.0.0.1:3000',
      'http://admin:hunter2@[::1',
      // Not URLs at all to the parser (the password's `#`, `/` or `?` ends the authority early).
      'http://admin:hunter2#x@localhost:3000',
      'http://admin:hunter2/x@localhost:3000',
      'http://admin:hunter2?x@localhost:3000',
      'ftp://admin:hunter2#x@localhost:3000',
    ];
    // Independent processes: run side by side.
    const runs = await Promise.all(
      cases.map((apiUrl) => runCli(['endpoints', 'list'], { HERALD_API_URL: apiUrl, HERALD_API_KEY: 'sk_test' })),
    );
    for (const run of runs) {
      expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 1, stdout: '' });
      expect(run.stderr).toMatch(/^herald: Invalid API URL "/);
      expect(run.stderr).not.toContain('hunter2');
    }
    const run = await runCli(['endpoints', 'list'], { HERALD_API_URL: withPassword, HERALD_API_KEY: 'sk_test' });
    expect(run.stderr).toBe(
      `herald: Invalid API URL "${api.url}": remove the user name and password (the API key authenticates)\n`,
    );
    const hash = await runCli(['endpoints', 'list', '--api-url', 'http://admin:hunter2#x@localhost:3000'], {
      HERALD_API_KEY: 'sk_test',
    });
    expect(hash.stderr).toBe(
      'herald: Invalid API URL "http://…@localhost:3000": expected e.g. http://localhost:3000\n',
    );
    expect(api.requests()).toBe(0);
  });

  it('refuses a --forward-to URL with a user name or password without printing the password', async () => {
    const api = await herald();
    const cases = [
      [
        'http://admin:hunter2@127.0.0.1:4000/hooks',
        'must not hold a user name or password (got "http://127.0.0.1:4000/hooks")',
      ],
      ['http://:hunter2@127.0.0.1:4000/', 'must not hold a user name or password (got "http://127.0.0.1:4000/")'],
      [
        'http://admin:hunter2#x@localhost:4000',
        'must be an http(s) URL, e.g. http://localhost:3000/webhooks (got "http://…@localhost:4000")',
      ],
      [
        'ftp://admin:hunter2@localhost:4000',
        'must be an http(s) URL, e.g. http://localhost:3000/webhooks (got "ftp://…@localhost:4000")',
      ],
      [
        'admin:hunter2@127.0.0.1:4000',
        'must be an http(s) URL, e.g. http://localhost:3000/webhooks (got "…@127.0.0.1:4000")',
      ],
    ];
    const runs = await Promise.all(
      cases.map(([forwardTo]) =>
        runCli(['listen', '--forward-to', forwardTo!], { HERALD_API_URL: api.url, HERALD_API_KEY: 'sk_test' }),
      ),
    );
    for (const [index, run] of runs.entries()) {
      expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 1, stdout: '' });
      expect(run.stderr).toMatch(/^herald: --forward-to [^\n]*\n$/);
      expect(run.stderr).toContain(cases[index]![1]);
      expect(run.stderr).not.toContain('hunter2');
    }
    expect(api.requests()).toBe(0);
  });

  it('never repeats a fetch error’s own message (it can hold the request’s headers)', () => {
    const error = new TypeError('Headers.set: "Bearer sk_live_SECRET\n" is an invalid header value.');
    expect(networkError('http://localhost:3000', error).message).toBe(
      'Cannot reach the Herald API at http://localhost:3000: network error (is it running?)',
    );
    const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) });
    expect(networkError('http://localhost:3000', refused).message).toContain(': connection refused (is it running?)');
  });

  it.each([
    [['listen', '--forward-to', 'http://localhost:4000/', '--timeout', '-5'], "'--timeout <ms>' argument '-5'"],
    [['listen', '--forward-to', 'http://localhost:4000/', '--timeout', 'soon'], "'--timeout <ms>' argument 'soon'"],
    [['deliveries', 'list', '--limit', '0'], "'--limit <n>' argument '0'"],
    [['events', 'tail', '--count', '1.5'], "'--count <n>' argument '1.5'"],
    [['verify', '--secret', 'whsec_x', '--tolerance', 'abc'], "'--tolerance <seconds>' argument 'abc'"],
    [['verify', '--secret', 'whsec_x', '--tolerance', '-1'], "'--tolerance <seconds>' argument '-1'"],
  ])('reports %j as a usage error', async (args, option) => {
    const run = await runCli(args, { HERALD_API_URL: 'http://127.0.0.1:9', HERALD_API_KEY: 'sk_test' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(`^error: option ${option.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is invalid\\. --\\w+ must be`),
    );
    // The one line and where the usage is, not the whole help.
    expect(run.stderr.split('\n')[1]).toMatch(/^Run "herald [a-z ]+ --help" for usage\.$/);
    expect(run.stderr.split('\n')).toHaveLength(3);
    expect(run.stderr).not.toContain('unexpected error');
  });

  const timerMax = 'must be a whole number of milliseconds from 1 to 2147483647.';
  const secondsMax = 'must be a number of seconds from 0.001 to 2147483.647 (whole milliseconds).';
  it.each([
    [['listen', '--forward-to', 'http://localhost:4000/', '--timeout', '2147483648'], `--timeout ${timerMax}`],
    [['listen', '--forward-to', 'http://localhost:4000/', '--timeout', '5000000000'], `--timeout ${timerMax}`],
    [['events', 'tail', '--interval', '2147483648'], `--interval ${timerMax}`],
    [['--request-timeout', '2147484', 'endpoints', 'list'], `--request-timeout ${secondsMax}`],
    [['--request-timeout', '0.0004', 'endpoints', 'list'], `--request-timeout ${secondsMax}`],
  ])('refuses %j, longer or shorter than a timer can wait, naming the range', async (args, message) => {
    const api = await herald();
    const run = await runCli(args, { HERALD_API_URL: api.url, HERALD_API_KEY: 'sk_test' });
    expect(run.code).toBe(1);
    expect(run.stderr.split('\n')[0]).toMatch(/^error: option '--[\w-]+ <\w+>' argument '[\d.]+' is invalid\. /);
    expect(run.stderr.split('\n')[0]).toContain(message);
    expect(api.requests()).toBe(0);
  });

  it('takes a --request-timeout in fractions of a millisecond, rounded to whole milliseconds', async () => {
    const api = await herald();
    for (const seconds of ['1.0005', '2147483.647']) {
      const run = await runCli(['--request-timeout', seconds, 'endpoints', 'list', '--json'], {
        HERALD_API_URL: api.url,
        HERALD_API_KEY: 'sk_test',
      });
      expect({ seconds, code: run.code, stderr: run.stderr }).toEqual({ seconds, code: 0, stderr: '' });
    }
    expect(api.requests()).toBe(2);
  });

  it('says a 200 answer was not valid JSON, not that the API is unreachable', async () => {
    const api = await startServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req_test' });
      response.end('{"data": <script>');
    });
    const run = await runCli(['endpoints', 'list'], { HERALD_API_URL: api.url, HERALD_API_KEY: 'sk_test' });
    expect({ code: run.code, stderr: run.stderr }).toEqual({
      code: 1,
      stderr: `herald: No Herald API at ${api.url}: listing endpoints answered with a body that is not valid JSON (check --api-url / HERALD_API_URL)\n`,
    });
  });

  it.each([
    ['announced by Content-Length', true],
    ['streamed without a length', false],
  ])('stops reading an answer over 64 MB (%s) with one line', async (_case, withLength) => {
    const size = 80 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, '[');
    let sent = 0;
    const api = await startServer((_request, response) => {
      response.writeHead(200, {
        'content-type': 'application/json',
        'x-request-id': 'req_test',
        ...(withLength ? { 'content-length': String(size) } : {}),
      });
      const write = () => {
        while (sent < size && !response.destroyed) {
          sent += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', write);
        }
        response.end();
      };
      response.on('close', () => (sent = size));
      write();
    });
    const run = await runCli(['endpoints', 'list'], { HERALD_API_URL: api.url, HERALD_API_KEY: 'sk_test' });
    expect({ code: run.code, stderr: run.stderr }).toEqual({
      code: 1,
      stderr: `herald: listing endpoints failed: the answer from ${api.url} was larger than 64 MB\n`,
    });
  });

  it('verifies a signature whose timestamp is past the last date JavaScript can show', async () => {
    const secret = generateSecret();
    const body = '{"type":"user.created"}';
    const headers = signHeaders({ id: 'msg_far', timestamp: 8_640_000_000_001, body, secrets: secret });
    const args = ['verify', '--secret', secret, '--headers', JSON.stringify(headers), '--tolerance', '1e13'];
    const run = await runCli(args, {}, body);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toBe(
      'Signature valid: webhook-id msg_far, signed at 8640000000001 (unix seconds, beyond the dates JavaScript can show)\n',
    );
    const json = await runCli([...args, '--json'], {}, body);
    expect(JSON.parse(json.stdout)).toEqual({ valid: true, id: 'msg_far', timestamp: 8_640_000_000_001 });
  });
});
