import { randomBytes } from 'node:crypto';
import type { Database } from '@herald/db';
import { endpoints, idPattern } from '@herald/db';
import type { DeliveryWakeup, RelayConfig } from '@herald/delivery';
import { createListenRelay, dispatcherConfigFromEnv } from '@herald/delivery';
import type { ApiServices } from '@herald/router';
import { bearerToken, INVALID_JSON_MESSAGE } from '@herald/router';
import { and, eq } from 'drizzle-orm';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import type { HeraldEnv } from '../middleware/request-context';
import { requestIdOf } from '../middleware/request-context';
import { errorResponse, methodNotAllowed } from '../rest/error-response';

export interface ListenRoutesOptions {
  db: Database;
  services: ApiServices;
  /** Wakes streams when deliveries are committed (any process, through LISTEN/NOTIFY on PostgreSQL). */
  wakeup?: Pick<DeliveryWakeup, 'notify'> & Partial<Pick<DeliveryWakeup, 'subscribe'>>;
  /** Lease, retries and polling as the dispatcher's (`HERALD_LEASE`, `HERALD_RETRY_SCHEDULE`, …) unless given. */
  relay?: Partial<RelayConfig>;
  /** Aborted when the process shuts down: open streams end (the CLI reconnects), so the server can close. */
  shutdown?: AbortSignal;
}

/** How often an idle stream sends an SSE comment, so proxies and the CLI know it is alive. */
const HEARTBEAT_MS = 15_000;
/**
 * Streams open at once in this API process, per listen endpoint and per project: each one polls
 * the database and wakes at every commit, so one key opening thousands slowed every tenant's
 * requests (a `herald listen` needs one; a reconnect replaces it). Past them: 429 with Retry-After.
 */
const MAX_STREAMS_PER_ENDPOINT = 4;
const MAX_STREAMS_PER_PROJECT = 16;
const STREAM_RETRY_AFTER_SECONDS = 5;

/** How often an open stream checks that its API key still holds (also before each delivery). */
const KEY_CHECK_MS = 2_000;

const endpointIdPattern = idPattern('endpoint');
const deliveryIdPattern = idPattern('delivery');

/** The CLI's report of one forwarded delivery (`POST …/listen/attempts`; also in the OpenAPI document). */
export const listenReportSchema = z.strictObject({
  // As the stream's `session` event names it; the text fields below are cleaned where they are stored.
  session: z.string().regex(/^listen_[0-9a-f]{24}$/, 'not a listen session'),
  deliveryId: z.string().regex(deliveryIdPattern, 'not a delivery id'),
  statusCode: z.number().int().min(100).max(599).nullable(),
  durationMs: z.number().min(0).max(3_600_000),
  errorClass: z.enum(['timeout', 'connection', 'dns', 'invalid_url', 'http_status']).nullable(),
  errorMessage: z.string().max(1000).nullable(),
  responseBody: z.string().max(4096).nullable(),
  retryAfterSeconds: z.number().int().min(0).max(86_400).nullable().default(null),
});

/** The answer to a report: what the attempt did to the delivery. */
export const listenReportAnswerSchema = z.object({
  deliveryId: z.string(),
  outcome: z.enum(['succeeded', 'retrying', 'failed', 'lease_lost']),
});

/**
 * `herald listen`'s two routes (plain Hono: a stream is no procedure), under `/v1` behind the same
 * body, rate-limit and API-key checks as REST:
 * - `GET /v1/endpoints/{id}/listen`: server-sent events. `session` first (the stream's lease owner),
 *   then one `delivery` per claimed delivery (signed body and headers to forward as they are), until
 *   the client goes away (its leases are then given back) or the endpoint is deleted (`gone`).
 * - `POST /v1/endpoints/{id}/listen/attempts`: the CLI's outcome of one forwarded delivery, recorded
 *   as the attempt (409 once the stream no longer holds its lease).
 * Only `listen` endpoints of the key's project: another project's id answers 404.
 */
export function createListenRoutes(options: ListenRoutesOptions) {
  const { db, services } = options;
  const fromEnv = dispatcherConfigFromEnv();
  const relay = createListenRelay({
    db,
    secrets: services.secretBox,
    ...(options.wakeup ? { wakeup: options.wakeup } : {}),
    config: {
      leaseMs: fromEnv.leaseMs,
      pollIntervalMs: fromEnv.pollIntervalMs,
      retryPolicy: fromEnv.retryPolicy,
      failureWindowMs: fromEnv.failureWindowMs,
      maxOutstanding: 16,
      ...options.relay,
    },
  });
  const routes = new Hono<HeraldEnv>();
  const streamsByEndpoint = new Map<string, number>();
  const streamsByProject = new Map<string, number>();
  const countStream = (endpointId: string, projectId: string, by: 1 | -1) => {
    for (const [counts, key] of [
      [streamsByEndpoint, endpointId],
      [streamsByProject, projectId],
    ] as const) {
      const n = (counts.get(key) ?? 0) + by;
      if (n > 0) counts.set(key, n);
      else counts.delete(key);
    }
  };

  /** The project's listen endpoint, or the error answer. */
  async function listenEndpointOf(c: Context<HeraldEnv>) {
    const identity = await services.apiKeys.identify(c.req.raw.headers);
    if (!identity) return errorResponse(c, 'unauthorized', 'A valid API key is required (Authorization: Bearer sk_…)');
    // Checked before the database sees it: PostgreSQL refuses a NUL byte in text with an error.
    const id = c.req.param('id') ?? '';
    if (!endpointIdPattern.test(id)) return errorResponse(c, 'not_found', 'Endpoint not found');
    const [row] = await db
      .select({ id: endpoints.id, kind: endpoints.kind, disabled: endpoints.disabled })
      .from(endpoints)
      .where(and(eq(endpoints.projectId, identity.projectId), eq(endpoints.id, id)))
      .limit(1);
    if (!row) return errorResponse(c, 'not_found', 'Endpoint not found');
    if (row.kind !== 'listen') {
      return errorResponse(c, 'conflict', 'Not a listen endpoint: create one with POST /v1/endpoints/listen');
    }
    return { ...row, projectId: identity.projectId };
  }

  const streamOnlyByGet = methodNotAllowed(['GET'], { headAllowed: false });

  routes.get('/endpoints/:id/listen', async (c) => {
    // Hono answers HEAD with the GET route and drops the body: a stream nobody reads, whose first
    // write never returns, held its count and its leases until the process ended (four `curl -I`
    // locked an endpoint out of `herald listen`).
    if (c.req.method !== 'GET') return streamOnlyByGet(c);
    const endpoint = await listenEndpointOf(c);
    if (endpoint instanceof Response) return endpoint;
    const session = `listen_${randomBytes(12).toString('hex')}`;
    const aborted = new AbortController();
    c.req.raw.signal.addEventListener('abort', () => aborted.abort());
    if (options.shutdown?.aborted) return errorResponse(c, 'service_unavailable', 'The server is shutting down');
    if (
      (streamsByEndpoint.get(endpoint.id) ?? 0) >= MAX_STREAMS_PER_ENDPOINT ||
      (streamsByProject.get(endpoint.projectId) ?? 0) >= MAX_STREAMS_PER_PROJECT
    ) {
      c.header('retry-after', String(STREAM_RETRY_AFTER_SECONDS));
      return errorResponse(
        c,
        'rate_limited',
        `At most ${MAX_STREAMS_PER_ENDPOINT} listen streams per endpoint and ${MAX_STREAMS_PER_PROJECT} per project are open at once`,
      );
    }
    options.shutdown?.addEventListener('abort', () => aborted.abort(), { signal: aborted.signal });
    // The socket goes with the stream: nothing idles on it afterwards to hold a shutting-down server open.
    c.header('connection', 'close');
    // The key that opened the stream must keep holding: once it is revoked (or its project deleted)
    // the stream ends, before the next delivery and within KEY_CHECK_MS when idle. Checked once at
    // the start only, a leaked key's stream went on receiving the project's events after revocation.
    const token = bearerToken(c.req.raw.headers) ?? '';
    // A lookup that failed (the database away for a moment) is not a revocation: the stream goes on,
    // and the next check (or the relay's own queries failing) decides. Read as "revoked", one blip
    // ended every open stream with a false reason.
    const keyHolds = async () => (await services.apiKeys.verify(token).catch(() => 'unknown' as const)) !== null;
    let revoked = false;
    const endIfRevoked = async () => {
      if (revoked || (await keyHolds())) return revoked;
      revoked = true;
      aborted.abort();
      return true;
    };
    countStream(endpoint.id, endpoint.projectId, 1);
    // Every write ends when the stream does: a write the client never reads would otherwise never
    // return, and the count, the leases and this handler with it.
    const closed = new Promise<never>((_, reject) => {
      const fail = () => reject(new Error('the listen stream closed'));
      if (aborted.signal.aborted) fail();
      else aborted.signal.addEventListener('abort', fail, { once: true });
    });
    closed.catch(() => {});
    return streamSSE(c, async (stream) => {
      const send = (message: { event: string; id?: string; data: string }) =>
        Promise.race([stream.writeSSE(message), closed]);
      stream.onAbort(() => aborted.abort());
      const heartbeat = setInterval(() => {
        void stream.write(': keep-alive\n\n').catch(() => aborted.abort());
      }, HEARTBEAT_MS);
      const keyCheck = setInterval(() => void endIfRevoked(), KEY_CHECK_MS);
      try {
        await send({ event: 'session', data: JSON.stringify({ session, endpointId: endpoint.id }) });
        const end = await relay.stream(
          endpoint.id,
          session,
          async (delivery) => {
            // Not handed out: the relay's release below makes it due again.
            if (await endIfRevoked()) throw new Error('the API key was revoked');
            await send({ event: 'delivery', id: delivery.deliveryId, data: JSON.stringify(delivery) });
          },
          aborted.signal,
        );
        if (end === 'endpoint_gone') await send({ event: 'gone', data: JSON.stringify({ endpointId: endpoint.id }) });
      } catch (error) {
        if (!aborted.signal.aborted) {
          services.logger?.warn(
            { err: error, endpointId: endpoint.id, requestId: requestIdOf(c) },
            'listen stream ended',
          );
          await send({ event: 'error', data: JSON.stringify({ message: 'stream interrupted' }) }).catch(() => {});
        }
      } finally {
        countStream(endpoint.id, endpoint.projectId, -1);
        clearInterval(heartbeat);
        clearInterval(keyCheck);
        // Queued ahead of the stream's end, not waited for: a client that stopped reading must not
        // hold up the release below.
        if (revoked) {
          void stream
            .writeSSE({ event: 'error', data: JSON.stringify({ message: 'the API key was revoked' }) })
            .catch(() => {});
        }
        // Deliveries handed to this stream but never reported are due again at once, not after the lease.
        await relay.release(session).catch(() => {});
      }
    });
  });

  routes.post('/endpoints/:id/listen/attempts', async (c) => {
    const endpoint = await listenEndpointOf(c);
    if (endpoint instanceof Response) return endpoint;
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return errorResponse(c, 'invalid_json', INVALID_JSON_MESSAGE);
    }
    const parsed = listenReportSchema.safeParse(body);
    if (!parsed.success) {
      const details = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message, code: i.code }));
      return errorResponse(c, 'validation_error', 'The attempt report is invalid', details);
    }
    const { session, ...report } = parsed.data;
    const outcome = await relay.report({ ...report, endpointId: endpoint.id, owner: session });
    if (outcome === null) {
      return errorResponse(
        c,
        'conflict',
        'This stream no longer holds the delivery (its lease ended): it will be sent again',
      );
    }
    return c.json({ deliveryId: report.deliveryId, outcome } satisfies z.input<typeof listenReportAnswerSchema>);
  });

  routes.all('/endpoints/:id/listen', streamOnlyByGet);
  routes.all('/endpoints/:id/listen/attempts', methodNotAllowed(['POST']));
  return routes;
}
