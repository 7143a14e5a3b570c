import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import type { Platform } from '@herald/api';
import { createPlatform } from '@herald/api';
import type { Database, SecretBox } from '@herald/db';
import { deliveries, deliveryAttempts, events, projects } from '@herald/db';
import type { TestDb } from '@herald/db/testing';
import type { AttemptResult, DeliveryWakeup, Dispatcher, DispatcherConfig, Resolver } from '@herald/delivery';
import { createDispatcher } from '@herald/delivery';
import type { ApiConfig } from '@herald/router';
import { and, asc, eq, inArray } from 'drizzle-orm';
import { expect, onTestFinished } from 'vitest';

/*
 * End-to-end harness: the real API (driven in-process with `app.request`)
 * and the real dispatcher on the file's database, delivering over real
 * sockets to a receiver on 127.0.0.1. Everything a test starts is stopped
 * when it finishes, and its project is deleted (deliveries cascade), so a
 * later test's dispatcher never picks up an earlier test's leftovers.
 */

// ---------------------------------------------------------------- waiting

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns something truthy; fails with `message` after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let last: T | undefined;
  for (;;) {
    last = await check();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) {
      throw new Error(`timed out: ${options.message ?? 'condition never held'} (last value ${JSON.stringify(last)})`);
    }
    await sleep(options.intervalMs ?? 20);
  }
}

/** A valid user snapshot for events written straight through `recordEvent` (`id` and `email` vary per test). */
export function userSnapshot(id: string, email = `${id.replace(/[^a-z0-9]/gi, '')}@example.com`) {
  const now = new Date().toISOString();
  return {
    id,
    email,
    name: null,
    roles: [],
    metadata: {},
    status: 'active' as const,
    createdAt: now,
    updatedAt: now,
  };
}

// ---------------------------------------------------------------- receiver

export interface ReceivedRequest {
  /** 1-based arrival order at this receiver. */
  seq: number;
  /** ms since epoch when the body had fully arrived. */
  at: number;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  webhookId: string;
  /** 1 for the first request carrying this webhook-id, 2 for the next, … */
  nthForId: number;
  /** What the receiver answered (null while held, or when it never answered). */
  answered: number | null;
}

export type Reply =
  | {
      status: number;
      headers?: Record<string, string>;
      body?: string | Buffer;
      delayMs?: number;
      /** Written to the socket as is, instead of a response Node would build (bytes Node refuses to send). */
      raw?: Buffer;
    }
  /** Never answer: hold the request until the client gives up or the receiver closes. */
  | 'hang';

export type Responder = (req: ReceivedRequest) => Reply;

export interface Receiver {
  port: number;
  /** http://127.0.0.1:<port> */
  url: string;
  requests: ReceivedRequest[];
  /** TCP connections accepted: proves that nothing connected at all. */
  connections: number;
  respond(responder: Responder): void;
  forId(webhookId: string): ReceivedRequest[];
  /** Resolves when at least `n` requests have arrived. */
  waitForRequests(n: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

/** A receiver's 200, as the sender reports it: for tests that record attempts by hand. */
export const succeededAttempt: AttemptResult = {
  ok: true,
  statusCode: 200,
  durationMs: 5,
  errorClass: null,
  errorMessage: null,
  responseBody: 'ok',
  retryAfterSeconds: null,
};

export const answer200: Responder = () => ({ status: 200, body: 'ok' });

/** A node:http server on 127.0.0.1 with programmable answers. */
export async function startReceiver(responder: Responder = answer200): Promise<Receiver> {
  const sockets = new Set<Socket>();
  const byId = new Map<string, ReceivedRequest[]>();
  let current = responder;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const webhookId = String(req.headers['webhook-id'] ?? '');
      const seen = byId.get(webhookId) ?? [];
      byId.set(webhookId, seen);
      const received: ReceivedRequest = {
        seq: receiver.requests.length + 1,
        at: Date.now(),
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        webhookId,
        nthForId: seen.length + 1,
        answered: null,
      };
      seen.push(received);
      receiver.requests.push(received);
      let reply: Reply;
      try {
        reply = current(received);
      } catch {
        reply = { status: 500, body: 'responder threw' };
      }
      if (reply === 'hang') return;
      const send = (r: Exclude<Reply, 'hang'>, out: ServerResponse) => {
        if (out.destroyed) return;
        received.answered = r.status;
        if (r.raw) out.socket?.end(r.raw);
        else out.writeHead(r.status, { 'content-type': 'text/plain', ...r.headers }).end(r.body ?? '');
      };
      if (reply.delayMs) setTimeout(() => send(reply, res), reply.delayMs);
      else send(reply, res);
    });
  });
  server.on('connection', (socket) => {
    receiver.connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const receiver: Receiver = {
    port,
    url: `http://127.0.0.1:${port}`,
    requests: [],
    connections: 0,
    respond(next) {
      current = next;
    },
    forId: (id) => byId.get(id) ?? [],
    async waitForRequests(n, timeoutMs = 10_000) {
      await waitFor(() => receiver.requests.length >= n, {
        timeoutMs,
        message: `${n} requests at the receiver (got ${receiver.requests.length})`,
      });
      return receiver.requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return receiver;
}

// ---------------------------------------------------------------- API + dispatcher

export const ADMIN_TOKEN = `admin_${randomBytes(12).toString('hex')}`;

/** Fast settings: tests wait milliseconds, not the production schedule's minutes. */
export const fastDispatcherConfig: Partial<DispatcherConfig> = {
  pollIntervalMs: 50,
  requestTimeoutMs: 3_000,
  leaseMs: 15_000,
  allowPrivateNetworks: true,
  retryPolicy: { delaysMs: [50, 50, 50], jitter: 0, minRetryAfterMs: 50, maxRetryAfterMs: 10_000 },
};

export interface HeraldOptions {
  /** Applies to both the API (endpoint URLs) and the dispatcher. Default true: the receiver is on loopback. */
  allowPrivateNetworks?: boolean;
  dispatcher?: Partial<DispatcherConfig>;
  resolve?: Resolver;
  /** Start the dispatcher right away (default true). */
  start?: boolean;
  /** More API settings (`secretKey`, which the platform's dispatcher shares). */
  api?: Partial<ApiConfig>;
}

export interface Herald {
  app: Platform['app'];
  db: Database;
  wakeup: DeliveryWakeup;
  dispatcher: Dispatcher;
  /** Another dispatcher on the same database, stopped with the test. */
  addDispatcher(options?: {
    db?: Database;
    config?: Partial<DispatcherConfig>;
    resolve?: Resolver;
    secrets?: SecretBox;
  }): Dispatcher;
  project(): Promise<Project>;
  receiver(responder?: Responder): Promise<Receiver>;
}

export interface CreatedEndpoint {
  endpoint: {
    id: string;
    url: string;
    eventTypes: string[] | null;
    headers: Record<string, string>;
    disabled: boolean;
    disabledReason: string | null;
    maxInFlight: number | null;
  };
  secret: string;
}

export interface Attempt {
  attemptNumber: number;
  startedAt: string;
  durationMs: number;
  statusCode: number | null;
  errorClass: string | null;
  errorMessage: string | null;
  responseBody: string | null;
}

export interface DeliveryView {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  status: 'pending' | 'in_flight' | 'succeeded' | 'failed';
  attemptCount: number;
  lastStatusCode: number | null;
  lastError: string | null;
  attempts: Attempt[];
}

export interface Project {
  id: string;
  apiKey: string;
  /** `app.request` with this project's key; `json` is sent as a JSON body (POST unless `method` says otherwise). */
  request(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  /** `request`, then checks the status and parses the body. */
  call<T = any>(path: string, status: number, init?: RequestInit & { json?: unknown }): Promise<T>;
  createEndpoint(body: Record<string, unknown>): Promise<CreatedEndpoint>;
  createUser(email?: string): Promise<{ id: string; email: string }>;
  /** Deliveries of one endpoint through `GET /v1/endpoints/{id}/deliveries`, oldest first. */
  deliveriesOf(endpointId: string): Promise<Omit<DeliveryView, 'attempts'>[]>;
  /** `GET /v1/deliveries/{id}`: the delivery with its attempts. */
  delivery(id: string): Promise<DeliveryView>;
  /** Non-test events through `GET /v1/events`. */
  events(type?: string): Promise<{ id: string; type: string; data: any }[]>;
  /** Waits until every delivery of the project is `succeeded` or `failed`; returns the rows. */
  settled(options?: { expected?: number; timeoutMs?: number }): Promise<(typeof deliveries.$inferSelect)[]>;
  /** Delivery rows straight from the database. */
  deliveryRows(): Promise<(typeof deliveries.$inferSelect)[]>;
  attemptRows(deliveryId: string): Promise<(typeof deliveryAttempts.$inferSelect)[]>;
}

function jsonInit(init: RequestInit & { json?: unknown } = {}, authorization?: string): RequestInit {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (authorization) headers.set('authorization', authorization);
  if (json === undefined) return { ...rest, headers };
  headers.set('content-type', 'application/json');
  return { method: 'POST', ...rest, headers, body: JSON.stringify(json) };
}

let emailCounter = 0;
export const uniqueEmail = (label = 'user') =>
  `${label}.${++emailCounter}.${randomBytes(3).toString('hex')}@example.com`;

/**
 * The API and a started dispatcher for `t.db`, sharing one wakeup (on PGlite
 * the wakeup is an in-process emitter; on PostgreSQL it is LISTEN/NOTIFY).
 * Stopped, and its projects deleted, when the current test finishes.
 */
export async function startHerald(t: TestDb, options: HeraldOptions = {}): Promise<Herald> {
  const allowPrivateNetworks = options.allowPrivateNetworks ?? true;
  const config: Partial<ApiConfig> = {
    adminToken: ADMIN_TOKEN,
    allowPrivateNetworks,
    rateLimit: { requests: 1_000_000, windowSeconds: 1 },
    ...options.api,
  };
  const dispatcherConfig = { ...fastDispatcherConfig, allowPrivateNetworks, ...options.dispatcher };
  const platform = await createPlatform({
    database: { herald: t.herald },
    api: config,
    dispatcher: dispatcherConfig,
    startDispatcher: options.start !== false,
    ...(options.resolve ? { resolve: options.resolve } : {}),
  });
  const { app, wakeup } = platform;
  const dispatcher = platform.dispatcher!;
  const dispatchers: Dispatcher[] = [];
  const receivers: Receiver[] = [];
  const projectIds: string[] = [];

  const addDispatcher: Herald['addDispatcher'] = (more = {}) => {
    const resolve = more.resolve ?? options.resolve;
    const d = createDispatcher({
      db: more.db ?? t.db,
      wakeup,
      config: { ...dispatcherConfig, ...more.config },
      ...(resolve ? { resolve } : {}),
      ...(more.secrets ? { secrets: more.secrets } : {}),
    });
    dispatchers.push(d);
    return d;
  };

  onTestFinished(async () => {
    await Promise.all(dispatchers.map((d) => d.stop()));
    await platform.close();
    await Promise.all(receivers.map((r) => r.close()));
    if (projectIds.length > 0) await t.db.delete(projects).where(inArray(projects.id, projectIds));
  });

  async function project(): Promise<Project> {
    const created = await app.request(
      '/v1/projects',
      jsonInit({ json: { name: `project ${randomBytes(3).toString('hex')}` } }, `Bearer ${ADMIN_TOKEN}`),
    );
    expect(created.status).toBe(201);
    const body = (await created.json()) as { project: { id: string }; apiKey: { key: string } };
    projectIds.push(body.project.id);
    const authorization = `Bearer ${body.apiKey.key}`;
    const request: Project['request'] = (path, init) =>
      Promise.resolve(app.request(path, jsonInit(init, authorization)));
    const call: Project['call'] = async (path, status, init) => {
      const response = await request(path, init);
      const text = await response.text();
      expect({ path, status: response.status, body: text }).toMatchObject({ status });
      return text === '' ? undefined : JSON.parse(text);
    };
    const deliveryRows = () =>
      t.db.select().from(deliveries).where(eq(deliveries.projectId, body.project.id)).orderBy(asc(deliveries.id));
    return {
      id: body.project.id,
      apiKey: body.apiKey.key,
      request,
      call,
      createEndpoint: (json) => call('/v1/endpoints', 201, { json }),
      createUser: (email = uniqueEmail()) => call('/v1/users', 201, { json: { email } }),
      deliveriesOf: async (endpointId) => (await call(`/v1/endpoints/${endpointId}/deliveries?limit=100`, 200)).data,
      delivery: (id) => call(`/v1/deliveries/${id}`, 200),
      // The feed serves an event once every older transaction on the server has ended (the
      // dispatcher and other test files write too): wait until it shows what the table holds.
      events: async (type) => {
        const stored = await t.db.$count(
          events,
          and(
            eq(events.projectId, body.project.id),
            eq(events.isTest, false),
            type ? eq(events.type, type) : undefined,
          ),
        );
        let data: { id: string; type: string; data: unknown }[] = [];
        await waitFor(async () => {
          data = (await call(`/v1/events?limit=100${type ? `&type=${type}` : ''}`, 200)).data;
          return data.length >= Math.min(stored, 100);
        });
        return data;
      },
      deliveryRows,
      attemptRows: (deliveryId) =>
        t.db
          .select()
          .from(deliveryAttempts)
          .where(eq(deliveryAttempts.deliveryId, deliveryId))
          .orderBy(asc(deliveryAttempts.attemptNumber)),
      async settled({ expected, timeoutMs = 15_000 } = {}) {
        return waitFor(
          async () => {
            const rows = await deliveryRows();
            if (expected !== undefined && rows.length !== expected) return null;
            return rows.every((r) => r.status === 'succeeded' || r.status === 'failed') ? rows : null;
          },
          { timeoutMs, message: 'every delivery succeeded or failed' },
        );
      },
    };
  }

  return {
    app,
    db: t.db,
    wakeup,
    dispatcher,
    addDispatcher,
    project,
    async receiver(responder) {
      const r = await startReceiver(responder);
      receivers.push(r);
      return r;
    },
  };
}

/** Standard Webhooks headers of a received request, as the verifier wants them. */
export function webhookHeaders(req: ReceivedRequest): Record<string, string> {
  return {
    'webhook-id': String(req.headers['webhook-id']),
    'webhook-timestamp': String(req.headers['webhook-timestamp']),
    'webhook-signature': String(req.headers['webhook-signature']),
  };
}

// ---------------------------------------------------------------- dispatcher processes

export interface HeraldProcess {
  child: ChildProcess;
  pid: number;
  /** Everything it logged so far (pino JSON lines). */
  output(): string;
  /** Resolves once it logged that it is running (or listening). */
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** SIGTERM, as an orchestrator's stop would send it. */
  terminate(): void;
  /** SIGKILL to the whole process group. */
  kill(): void;
}

export type DispatcherProcess = HeraldProcess;

// The apps, found as packages rather than by a path into apps/.
const appDirs = {
  dispatcher: path.dirname(createRequire(import.meta.url).resolve('@herald/dispatcher/package.json')),
  api: path.dirname(createRequire(import.meta.url).resolve('@herald/api/package.json')),
};
const readyLines = { dispatcher: 'Herald dispatcher running', api: 'Herald API listening' };

/** `src/main.ts` as its own process, the way it runs in production. Killed when the test ends if still alive. */
/** `apps/dispatcher`'s main in a process of its own (METRICS_PORT 0: a free port). */
export function spawnDispatcher(env: Record<string, string>): HeraldProcess {
  return spawnApp('dispatcher', { METRICS_PORT: '0', ...env });
}

/** `apps/api`'s main in a process of its own (PORT 0: a free port; no dispatcher unless asked). */
export function spawnApi(env: Record<string, string>): HeraldProcess {
  return spawnApp('api', { PORT: '0', HOST: '127.0.0.1', HERALD_DISPATCHER: 'off', ...env });
}

function spawnApp(app: keyof typeof appDirs, env: Record<string, string>): HeraldProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: appDirs[app],
    env: { ...process.env, HERALD_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a kill reaches anything it started too.
    detached: true,
  });
  let output = '';
  let markReady: () => void = () => {};
  let failReady: (error: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  void ready.catch(() => {});
  const onData = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.includes(readyLines[app])) markReady();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.once('exit', (code, signal) => {
      failReady(new Error(`${app} exited before it was ready (code ${code}, signal ${signal}):\n${output}`));
      resolve({ code, signal, at: Date.now() });
    });
  });
  const killGroup = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  onTestFinished(async () => {
    killGroup();
    if (child.exitCode === null && child.signalCode === null) await exited;
  });
  return {
    child,
    pid: child.pid!,
    output: () => output,
    ready,
    exited,
    terminate: () => child.kill('SIGTERM'),
    kill: killGroup,
  };
}
