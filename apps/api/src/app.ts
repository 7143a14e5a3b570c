import { createLogger } from '@herald/config';
import type { Database, SecretBox } from '@herald/db';
import { databaseReady, driverOf, isDatabaseUnavailable, listenToChannel } from '@herald/db';
import type { DeliveryWakeup, RelayConfig } from '@herald/delivery';
import type { ApiConfig, ApiServices } from '@herald/router';
import {
  API_KEY_REVOKED_CHANNEL,
  appRouter,
  bearerToken,
  createApiServices,
  createContext,
  defaultApiConfig,
  matchesSecret,
  PORTAL_SESSION_COOKIE,
  portalSessionOfRequest,
  RETRY_AFTER_UNAVAILABLE_SECONDS,
  SERVICE_UNAVAILABLE_MESSAGE,
  toApiErrorBody,
} from '@herald/router';
import { TRPCError } from '@trpc/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import { createListenRoutes } from './listen/listen-routes';
import { clientAddressOf } from './middleware/client-address';
import { idempotency } from './middleware/idempotency';
import { requestWithBody, settleUnreadBody } from './middleware/json-body';
import type { RateLimitCaller } from './middleware/rate-limit';
import { rateLimit, trpcCallsOf } from './middleware/rate-limit';
import { checkRequest } from './middleware/request-checks';
import type { HeraldEnv } from './middleware/request-context';
import { pathForLog, requestContext, requestIdOf } from './middleware/request-context';
import { sharedBudgets } from './middleware/shared-budgets';
import { createPortalRouter } from './portal/portal-router';
import { defaultPortalDir } from './portal/portal-static';
import { createDocsRouter } from './rest/docs';
import { errorResponse } from './rest/error-response';
import { buildOpenApiDocument } from './rest/openapi';
import { createRestRouter } from './rest/rest-router';
import { trpcErrorHooks } from './trpc/error-hooks';
import { answerSingleCall } from './trpc/single-call';

export interface CreateAppOptions {
  db: Database;
  config?: Partial<ApiConfig>;
  /** `subscribe` (optional) wakes `herald listen` streams at once instead of at their next poll. */
  wakeup?: Pick<DeliveryWakeup, 'notify'> & Partial<Pick<DeliveryWakeup, 'subscribe'>>;
  /** `herald listen` relay settings; unset ones come from the dispatcher's environment variables. */
  relay?: Partial<RelayConfig>;
  /** Aborted when the process shuts down: `herald listen` streams end so the server can close. */
  shutdown?: AbortSignal;
  logger?: Logger;
  /** Prometheus text of an in-process dispatcher, served at `/metrics` on the API's own port. */
  metrics?: () => Promise<string>;
  /**
   * Who may read `/metrics` (it names projects and endpoints): `{ token }` (a scraper's
   * `Authorization: Bearer <token>`, `HERALD_METRICS_TOKEN`), `'open'` (anyone: tests, embedders
   * who serve the app on a private port), `false` (not served). Default `'open'`; `pnpm start`
   * serves it only with a token.
   */
  metricsAccess?: 'open' | { token: string } | false;
  /** The built portal served under `/portal` (default: `apps/portal/dist`, or `HERALD_PORTAL_DIR`). */
  portalDir?: string;
  /**
   * Share rate-limit counts with the database's other API processes (default: on PostgreSQL).
   * Off, each process counts alone (tests that make many apps on one database, as one process each).
   */
  sharedRateLimits?: boolean;
  /** Seals and opens endpoint signing secrets (default: one from `config.secretKey`; the platform shares its dispatcher's). */
  secretBox?: SecretBox;
}

/** The whole HTTP surface: tRPC at `/trpc`, REST at `/v1`, docs, health. */
export function createApp(options: CreateAppOptions) {
  const config: ApiConfig = { ...defaultApiConfig, ...options.config };
  const logger = options.logger ?? createLogger({ level: 'silent' });
  const services = createApiServices(options.db, {
    config,
    logger,
    ...(options.wakeup ? { wakeup: options.wakeup } : {}),
    ...(options.secretBox ? { secretBox: options.secretBox } : {}),
  });
  forgetRevokedKeys(options, services, logger);
  const app = new Hono<HeraldEnv>();

  const metricsToken = typeof options.metricsAccess === 'object' ? options.metricsAccess.token : null;
  app.use(requestContext(logger, [config.adminToken ?? '', metricsToken ?? '']));
  app.use(clientAddressOf(config.trustedProxies));
  app.onError((error, c) => {
    if (error instanceof TRPCError && error.code === 'TOO_MANY_REQUESTS') {
      // Refused by the API-key check before any procedure ran (too many unknown keys: 429).
      const { body, retryAfterSeconds } = toApiErrorBody(error);
      if (retryAfterSeconds !== undefined) c.header('retry-after', String(retryAfterSeconds));
      return errorResponse(c, body.error.code, body.error.message);
    }
    if (isDatabaseUnavailable(error)) {
      // A middleware's query (API key, idempotency record) met a database that is away.
      logger.warn({ err: error, path: pathForLog(c), requestId: requestIdOf(c) }, 'database unavailable');
      return errorResponse(c, 'service_unavailable', SERVICE_UNAVAILABLE_MESSAGE);
    }
    logger.error({ err: error, path: pathForLog(c), requestId: requestIdOf(c) }, 'unhandled error');
    return errorResponse(c, 'internal_error', 'Internal server error');
  });
  app.notFound((c) => {
    c.set('noRoute', true);
    // The client's own path, as it sent it (hiding a secret in it would tell a guesser it was right).
    return errorResponse(c, 'not_found', `No route for ${c.req.method} ${c.req.path}`);
  });

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) =>
    // Bounded: an orchestrator's probe must get an answer while the database is away, not a hang.
    (await databaseReady(options.db))
      ? c.json({ status: 'ready' })
      : c.json({ status: 'unavailable', reason: 'database unreachable' }, 503, {
          'retry-after': String(RETRY_AFTER_UNAVAILABLE_SECONDS),
        }),
  );

  let openApiDocument: string | null = null;
  app.get('/openapi.json', (c) => {
    openApiDocument ??= JSON.stringify(buildOpenApiDocument());
    return c.body(openApiDocument, 200, { 'content-type': 'application/json' });
  });
  app.route('/docs', createDocsRouter());
  // PostgreSQL: every API process of the database counts toward one budget. PGlite is one process.
  const sharedLimits =
    (options.sharedRateLimits ?? driverOf(options.db) === 'postgres')
      ? sharedBudgets(options.db, { windowMs: config.rateLimit.windowSeconds * 1000, logger })
      : undefined;
  options.shutdown?.addEventListener('abort', () => sharedLimits?.stop(), { once: true });
  // A link's door answers anyone, and looks its token up: within the client address's budget.
  const addressBudget = () => rateLimit({ ...config.rateLimit, ...(sharedLimits ? { shared: sharedLimits } : {}) });
  app.use('/portal/open', settleUnreadBody(), addressBudget());
  const { metrics } = options;
  const metricsAccess = options.metricsAccess ?? 'open';
  if (metrics && metricsAccess !== false) {
    // Each scrape runs aggregates over the queue: within the client address's budget too.
    app.get('/metrics', addressBudget(), async (c) => {
      if (metricsAccess !== 'open' && !matchesSecret(metricsAccess.token, bearerToken(c.req.raw.headers))) {
        return errorResponse(
          c,
          'unauthorized',
          'The metrics token is required (Authorization: Bearer <HERALD_METRICS_TOKEN>)',
        );
      }
      try {
        return c.body(await metrics(), 200, { 'content-type': 'text/plain; version=0.0.4' });
      } catch {
        return c.body('database unavailable\n', 503);
      }
    });
  }
  app.route('/portal', createPortalRouter(options.db, services, options.portalDir ?? defaultPortalDir()));

  const api = [
    settleUnreadBody(),
    checkRequest({ bodyLimitBytes: config.bodyLimitBytes, maxBatchSize: config.maxBatchSize }),
    rateLimit({
      ...config.rateLimit,
      callsOf: trpcCallsOf,
      identify: (c) => callerOf(c, options.db, services),
      ...(sharedLimits ? { shared: sharedLimits } : {}),
    }),
  ] as const;
  app.use('/v1/*', ...api, idempotency(options.db, services));
  app.use('/trpc/*', ...api, idempotency(options.db, services));

  app.route('/v1', createListenRoutes({ ...options, services }));
  app.route('/v1', createRestRouter(options.db, services));
  app.all('/trpc/*', async (c) => {
    const hooks = trpcErrorHooks(logger, () => requestIdOf(c));
    // An idempotent mutation runs in the transaction that stores its answer, as on REST.
    const scope = () => idempotency.scopeOf(c.req.raw) ?? { db: options.db, services };
    const single = await answerSingleCall(
      c,
      () =>
        createContext({
          headers: c.req.raw.headers,
          ...scope(),
          callBudget: c.var.callBudget,
          fromTrustedProxy: c.var.fromTrustedProxy,
        }),
      hooks,
    );
    if (single) return single;
    const response = await fetchRequestHandler({
      // Must equal the mount path, or procedure names come out truncated.
      endpoint: '/trpc',
      req: requestWithBody(c),
      router: appRouter,
      // The middleware refused longer batches already (400 batch_too_large); this holds if the two ever differ.
      maxBatchSize: config.maxBatchSize,
      // The request's own headers, not the rebuilt request's copy: the API key found for them (by the
      // rate limit, the idempotency check) is kept per headers object, and a second lookup would
      // ask the pool while this request may hold a connection of it (an idempotent transaction).
      createContext: () =>
        createContext({
          headers: c.req.raw.headers,
          ...scope(),
          callBudget: c.var.callBudget,
          fromTrustedProxy: c.var.fromTrustedProxy,
        }),
      onError: hooks.onError,
      responseMeta: hooks.responseMeta,
    });
    // X-Request-Id and RateLimit-* are added to it by `requestContext` (`setAnswerHeader`).
    return response;
  });
  return app;
}

/**
 * Whose rate-limit budgets a request spends: its valid API key's and that key's project's, else
 * its valid portal session's (keyed by the session, not the address: behind a proxy every browser
 * shares one address, and anyone could spend it for every tenant's portal users), else null (the
 * client address's). Rejects with a 429 once the address has sent too many unknown keys.
 */
async function callerOf(c: Context<HeraldEnv>, db: Database, services: ApiServices): Promise<RateLimitCaller | null> {
  const headers = c.req.raw.headers;
  const identity = await services.apiKeys.identify(headers, c.var.clientAddress);
  if (identity) return { id: identity.apiKeyId, projectId: identity.projectId };
  if (headers.has('authorization') || !headers.get('cookie')?.includes(`${PORTAL_SESSION_COOKIE}=`)) return null;
  const session = await portalSessionOfRequest(db, headers, services.config.adminToken);
  // The session's CSRF token: derived from its secret, one per session, and never its secret.
  // A project's sessions share a project budget: links are minted freely, so more sessions must not buy
  // more requests. Theirs, not the keys': people in the portal must not starve the project's API calls.
  if (!session) return null;
  return session.projectId
    ? { id: `portal:${session.csrfToken}`, projectId: `portal:${session.projectId}` }
    : { id: `portal:${session.csrfToken}` };
}

/**
 * Keys revoked by another API process of the database are forgotten when its notification arrives
 * (PostgreSQL). One LISTEN per database, kept while it is open (postgres.js listens again after a
 * reconnect), shared by every app made on it; an app leaves it when the process shuts down. Without
 * it (a LISTEN that failed) keys are still refused once their cache entry runs out.
 */
function forgetRevokedKeys(options: CreateAppOptions, services: ApiServices, logger: Logger): void {
  let verifiers = revocationListeners.get(options.db);
  if (!verifiers) {
    const listeners = new Set<ApiServices['apiKeys']>();
    verifiers = listeners;
    revocationListeners.set(options.db, listeners);
    listenToChannel(options.db, API_KEY_REVOKED_CHANNEL, (apiKeyId) => {
      for (const verifier of listeners) verifier.forgetKey(apiKeyId);
    }).catch((error: unknown) => {
      // Closed before the LISTEN was set up (a start-up that failed, say): nothing to warn of.
      if (options.shutdown?.aborted) return;
      logger.warn(
        { err: error },
        'not listening for API-key revocations; other processes keep a key for its cache time',
      );
    });
  }
  const joined = verifiers;
  joined.add(services.apiKeys);
  options.shutdown?.addEventListener('abort', () => joined.delete(services.apiKeys));
}

/** Per database: the key verifiers of the apps made on it (see `forgetRevokedKeys`). */
const revocationListeners = new WeakMap<Database, Set<ApiServices['apiKeys']>>();
