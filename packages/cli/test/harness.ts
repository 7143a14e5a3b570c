import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';

/** The CLI's source entry, run as `pnpm --filter @herald/cli herald …` runs it (tsx, no build). */
export const cliMain = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/** Environment for CLI runs: none of the developer's own Herald settings leak in, no colours (tests/e2e too). */
export function cliEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('HERALD_') && k !== 'XDG_CONFIG_HOME'),
  );
  return { ...clean, NO_COLOR: '1', XDG_CONFIG_HOME: '/nonexistent-herald-config', ...env };
}

/** A `herald` process: its output so far, and how it ended. */
export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once stdout or stderr (both as text so far) satisfies `predicate`. */
  waitForOutput(predicate: (stdout: string, stderr: string) => boolean, timeoutMs?: number): Promise<void>;
}

/** Starts `herald <args>`, `input` on its stdin (killed when the test ends if still alive). */
export function startCli(args: string[], env: Record<string, string> = {}, input = ''): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', cliMain, ...args], {
    env: cliEnv(env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin!.end(input);
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of waiters) w();
  };
  child.stdout!.on('data', (c: Buffer) => {
    stdout += c.toString('utf8');
    wake();
  });
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
    wake();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => {
      wake();
      resolve({ code, signal });
    }),
  );
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitForOutput(predicate, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (predicate(stdout, stderr)) {
            done();
            resolve();
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`herald exited (${child.exitCode}) first:\n${stdout}\n${stderr}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no matching output within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** Runs `herald <args>` to completion. */
export async function runCli(args: string[], env: Record<string, string> = {}, input = '') {
  const cli = startCli(args, env, input);
  const { code } = await cli.exited;
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

/** A real HTTP server on a free local port, closed when the test ends. */
export async function startServer(
  handle: (request: IncomingMessage, response: ServerResponse, body: string) => void,
): Promise<{ url: string }> {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => handle(request, response, body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Herald's JSON answer: what the CLI recognises as the API (content type and X-Request-Id). */
export function answerJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  response.writeHead(status, { 'content-type': 'application/json', 'x-request-id': 'req_test', ...headers });
  response.end(JSON.stringify(body));
}

export const ENDPOINT_ID = 'ep_test';
export const SESSION_EVENT = 'event: session\ndata: {"session":"listen_test"}\n\n';

/** A delivery event for delivery `n` (its webhook-id header tells the receiver which one it got). */
export const deliveryEvent = (n: number) =>
  `event: delivery\ndata: ${deliveryData({
    deliveryId: `dlv_${n}`,
    eventId: `evt_${n}`,
    headers: { 'webhook-id': `evt_${n}`, 'webhook-timestamp': '1', 'webhook-signature': 'v1,x' },
  })}\n\n`;

/** A well-formed delivery event's data. */
export function deliveryData(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    deliveryId: 'dlv_1',
    eventId: 'evt_1',
    eventType: 'user.created',
    attempt: 1,
    body: '{"a":1}',
    headers: { 'webhook-id': 'evt_1', 'webhook-timestamp': '1', 'webhook-signature': 'v1,x' },
    ...overrides,
  });
}

/**
 * The routes `herald listen` uses, in memory: create, delete, attempt reports, and the stream, whose
 * answer `openStream` writes for each GET (`open` counts from 1). Records what the CLI asked. Each
 * report is answered with the status `answerReport` gives it (202 by default; 409 as the API refuses
 * a session that no longer holds the lease).
 */
export async function startFakeHerald(
  openStream: (response: ServerResponse, open: number) => void,
  answerReport: (report: Record<string, unknown>) => number | Promise<number> = () => 202,
) {
  const streamOpenedAt: number[] = [];
  const reports: Record<string, unknown>[] = [];
  let deleted = false;
  const { url } = await startServer((request, response, body) => {
    const route = `${request.method} ${request.url}`;
    if (route === 'POST /v1/endpoints/listen') {
      return answerJson(response, 201, { endpoint: { id: ENDPOINT_ID }, secret: 'whsec_test' });
    }
    if (route === `GET /v1/endpoints/${ENDPOINT_ID}/listen`) {
      streamOpenedAt.push(Date.now());
      return openStream(response, streamOpenedAt.length);
    }
    if (route === `POST /v1/endpoints/${ENDPOINT_ID}/listen/attempts`) {
      const report = JSON.parse(body) as Record<string, unknown>;
      reports.push(report);
      return void Promise.resolve(answerReport(report)).then((status) =>
        status === 409
          ? answerJson(response, 409, {
              error: { code: 'conflict', message: 'This stream no longer holds the delivery' },
            })
          : answerJson(response, status, { ok: true }),
      );
    }
    if (route === `DELETE /v1/endpoints/${ENDPOINT_ID}`) {
      deleted = true;
      return answerJson(response, 200, { id: ENDPOINT_ID, deleted: true });
    }
    answerJson(response, 404, { error: { code: 'not_found', message: 'no such route' } });
  });
  return { url, streamOpenedAt, reports, wasDeleted: () => deleted };
}

/** Writes an open event stream's head and `events` (already formatted), leaving it open. */
export function streamEvents(response: ServerResponse, ...events: string[]) {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'x-request-id': 'req_test' });
  for (const event of events) response.write(event);
}

/** `herald listen --forward-to <forwardTo>` against a fake Herald API, once it has printed its ready line. */
export async function startListen(apiUrl: string, forwardTo: string, flags: string[] = []): Promise<CliProcess> {
  const cli = startCli(['listen', ...flags, '--forward-to', forwardTo], {
    HERALD_API_URL: apiUrl,
    HERALD_API_KEY: 'sk_test',
  });
  await cli.waitForOutput((stdout) => stdout.includes(flags.includes('--json') ? '"ready"' : 'Ready!'));
  return cli;
}
