import type { AddressInfo, Socket } from 'node:net';
import { createServer } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { networkError } from '../src/api';
import { answerJson, runCli, startServer } from './harness';

/** What a first run gets wrong (a typo, a wrong URL or port, a missing option), and what the CLI says. */
describe('herald for a new user', () => {
  const env = (url: string) => ({ HERALD_API_URL: url, HERALD_API_KEY: 'sk_test' });

  /** A Herald API refusing every request with `error`, as the router's toApiErrorBody writes it. */
  async function refusing(status: number, error: Record<string, unknown>) {
    return startServer((_request, response) => answerJson(response, status, { error }));
  }

  const enumIssue = {
    path: 'eventTypes.0',
    message: 'Invalid option: expected one of "user.created"|"user.deleted"',
    code: 'invalid_value',
  };

  it('prints a validation error’s issues after its message, and lists them with --json', async () => {
    const api = await refusing(400, {
      code: 'validation_error',
      message: 'Request validation failed',
      details: [enumIssue, { path: '', message: 'Unrecognized key: "x"', code: 'unrecognized_keys' }],
    });
    const args = ['endpoints', 'create', '--url', 'https://example.com/h', '--events', 'bogus.event'];
    const run = await runCli(args, env(api.url));
    expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'herald: creating the endpoint failed: Request validation failed (400 validation_error): ' +
        'eventTypes.0: Invalid option: expected one of "user.created"|"user.deleted"; Unrecognized key: "x"\n',
    });
    const json = await runCli([...args, '--json'], env(api.url));
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stderr)).toEqual({
      error: {
        code: 'validation_error',
        message: expect.stringMatching(
          /^creating the endpoint failed: Request validation failed \(400 validation_error\): eventTypes\.0: /,
        ),
        details: [
          { path: 'eventTypes.0', message: enumIssue.message },
          { path: '', message: 'Unrecognized key: "x"' },
        ],
      },
    });
  });

  it('bounds the issues a hostile API sends, and shows their control characters escaped', async () => {
    const hostile = `\x1b[2J\x1b]0;PWNED\x07${'x'.repeat(5000)}`;
    const api = await refusing(400, {
      code: 'validation_error',
      message: `Request validation failed${'!'.repeat(5000)}`,
      details: Array.from({ length: 500 }, (_, i) => ({ path: `p${i}\n${hostile}`, message: hostile })),
    });
    const run = await runCli(['deliveries', 'retry', 'dlv_nonexistent'], env(api.url));
    expect(run.code).toBe(1);
    expect(run.stderr.split('\n')).toHaveLength(2);
    expect(run.stderr).toMatch(
      /^herald: retrying the delivery failed: Request validation failed!+… \(400 validation_error\): p0\\u000a\\u001b\[2J/,
    );
    expect(run.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    // 300 characters of message, 500 of issues, each control character as 6.
    expect(run.stderr.length).toBeLessThan(1200);
    const json = await runCli(['deliveries', 'retry', 'dlv_nonexistent', '--json'], env(api.url));
    const { error } = JSON.parse(json.stderr) as { error: { message: string; details: { message: string }[] } };
    expect(error.details).toHaveLength(20);
    expect(error.details[0]!.message).toBe(`${hostile.slice(0, 200)}…`);
    expect(json.stderr.length).toBeLessThan(20 * 2 * 250 + 2000);
  });

  it('does not repeat an issue that is the message itself, and keeps other details for --json', async () => {
    const message = 'URL refused: private address';
    const refused = await refusing(400, {
      code: 'validation_error',
      message,
      details: [{ path: 'url', message, code: 'url_refused' }],
    });
    const args = ['endpoints', 'create', '--url', 'https://10.0.0.1/h'];
    const run = await runCli(args, env(refused.url));
    expect(run.stderr).toBe(`herald: creating the endpoint failed: ${message} (400 validation_error)\n`);
    const expired = await refusing(409, {
      code: 'conflict',
      message: 'The payload has expired',
      details: { reason: 'payload_expired', nested: { dropped: true } },
    });
    const json = await runCli(['deliveries', 'retry', 'dlv_1', '--json'], env(expired.url));
    expect(JSON.parse(json.stderr)).toEqual({
      error: {
        code: 'conflict',
        message: 'retrying the delivery failed: The payload has expired (409 conflict)',
        details: { reason: 'payload_expired' },
      },
    });
  });

  it.each([
    [['--json', 'bogus'], "unknown command 'bogus'"],
    [['--json', 'deliveries', 'list', '--status', 'bogus'], "option '--status <status>' argument 'bogus' is invalid."],
    [['--json', 'listen'], "required option '--forward-to <url>' not specified"],
    [['deliveries', 'list', '--limit', '0', '--json'], "option '--limit <n>' argument '0' is invalid."],
    [['--json', 'deliveries'], 'herald deliveries needs a command: list, retry'],
  ])('reports the usage error %j as the JSON error, and nothing else', async (args, message) => {
    const run = await runCli(args, env('http://127.0.0.1:9'));
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 1, stdout: '' });
    expect(run.stderr.split('\n')).toHaveLength(2);
    expect(JSON.parse(run.stderr)).toEqual({
      error: { code: 'usage_error', message: expect.stringContaining(message) },
    });
  });

  it.each([
    [['bogus'], "error: unknown command 'bogus'", 'herald'],
    [
      ['deliveries', 'list', '--status', 'bogus'],
      "error: option '--status <status>' argument 'bogus'",
      'herald deliveries list',
    ],
    [['listen'], "error: required option '--forward-to <url>' not specified", 'herald listen'],
  ])(
    'reports the usage error %j in one line and where the usage is, not the whole help',
    async (args, error, command) => {
      const run = await runCli(args, env('http://127.0.0.1:9'));
      expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 1, stdout: '' });
      const [first, hint, ...rest] = run.stderr.split('\n');
      expect(first).toContain(error);
      expect(hint).toBe(`Run "${command} --help" for usage.`);
      expect(rest).toEqual(['']);
    },
  );

  it('says a server that does not speak HTTP is a wrong --api-url, not one that is down', async () => {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.end('SSH-2.0-OpenSSH_9.6\r\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const run = await runCli(['endpoints', 'list'], env(url));
    expect({ code: run.code, stderr: run.stderr }).toEqual({
      code: 1,
      stderr: `herald: Cannot reach the Herald API at ${url}: it did not answer as an HTTP server (HPE_INVALID_CONSTANT): check --api-url\n`,
    });
  });

  it('says https against a plain HTTP server is a TLS failure to check the scheme of', async () => {
    const api = await startServer((_request, response) => answerJson(response, 200, { data: [], nextCursor: null }));
    const url = api.url.replace('http://', 'https://');
    const run = await runCli(['endpoints', 'list'], env(url));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(
        `^herald: Cannot reach the Herald API at ${url}: TLS failed \\((ERR_SSL_[A-Z_]+|EPROTO)\\): check http:// vs https:// in --api-url\\n$`,
      ),
    );
  });

  it('says a refused certificate is a TLS failure, and keeps its code', () => {
    const failure = (code: string) => new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code }) });
    for (const code of ['DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID']) {
      expect(networkError('https://herald.test', failure(code)).message).toBe(
        `Cannot reach the Herald API at https://herald.test: TLS failed, the server's certificate was refused (${code}): check the host name in --api-url`,
      );
    }
    expect(networkError('https://herald.test', failure('EPROTO')).message).toBe(
      'Cannot reach the Herald API at https://herald.test: TLS failed (EPROTO): check http:// vs https:// in --api-url',
    );
  });

  it('takes an API URL ending in /v1 (the routes add it), with or without a slash or a path before it', async () => {
    const paths: string[] = [];
    const api = await startServer((request, response) => {
      paths.push(request.url!.split('?')[0]!);
      answerJson(response, 200, { data: [], nextCursor: null });
    });
    for (const url of [`${api.url}/v1`, `${api.url}/v1/`, `${api.url}/herald/v1`]) {
      const run = await runCli(['endpoints', 'list', '--json'], env(url));
      expect({ url, code: run.code, stderr: run.stderr }).toEqual({ url, code: 0, stderr: '' });
    }
    expect(paths).toEqual(['/v1/endpoints', '/v1/endpoints', '/herald/v1/endpoints']);
  });
});
