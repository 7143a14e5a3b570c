import type { Database, DeliveryWakeup } from '@herald/db';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import { defaultApiConfig } from './config';
import type { ApiConfig } from './config';
import { createLogger } from './logger';
import { idempotency } from './middleware/idempotency';
import { limitBody, requireJsonBody } from './middleware/json-body';
import { rateLimit } from './middleware/rate-limit';
import { requestContext } from './middleware/request-context';
import { createDocsRouter } from './rest/docs';
import { errorResponse } from './rest/error-response';
import { buildOpenApiDocument } from './rest/openapi';
import { createRestRouter } from './rest/rest-router';
import { createApiServices, createContext } from './trpc/context';
import { appRouter } from './trpc/router';

export interface CreateAppOptions {
  db: Database;
  config?: Partial<ApiConfig>;
  wakeup?: Pick<DeliveryWakeup, 'notify'>;
  logger?: Logger;
}

/** The whole HTTP surface: tRPC at `/trpc`, REST at `/v1`, docs, health. */
export function createApp(options: CreateAppOptions) {
  const config: ApiConfig = { ...defaultApiConfig, ...options.config };
  const logger = options.logger ?? createLogger({ level: 'silent' });
  const services = createApiServices(options.db, { config, logger, ...(options.wakeup ? { wakeup: options.wakeup } : {}) });
  const app = new Hono();

  app.use(requestContext(logger));
  app.onError((error, c) => {
    logger.error({ err: error, path: c.req.path }, 'unhandled error');
    return errorResponse(c, 'internal_error', 'Internal server error');
  });
  app.notFound((c) => errorResponse(c, 'not_found', `No route for ${c.req.method} ${c.req.path}`));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    try {
      await options.db.execute(sql`select 1`);
      return c.json({ status: 'ready' });
    } catch {
      return c.json({ status: 'unavailable', reason: 'database unreachable' }, 503);
    }
  });

  let openApiDocument: string | null = null;
  app.get('/openapi.json', (c) => {
    openApiDocument ??= JSON.stringify(buildOpenApiDocument());
    return c.body(openApiDocument, 200, { 'content-type': 'application/json' });
  });
  app.route('/docs', createDocsRouter());

  const api = [limitBody(config.bodyLimitBytes), requireJsonBody(), rateLimit(config.rateLimit)] as const;
  app.use('/v1/*', ...api, idempotency(options.db, services));
  app.use('/trpc/*', ...api);

  app.route('/v1', createRestRouter(options.db, services));
  app.all('/trpc/*', (c) =>
    fetchRequestHandler({
      // Must equal the mount path, or procedure names come out truncated.
      endpoint: '/trpc',
      req: c.req.raw,
      router: appRouter,
      createContext: ({ req }) => createContext({ headers: req.headers, db: options.db, services }),
      onError: ({ error, path }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR') logger.error({ err: error.cause ?? error, procedure: path }, 'procedure failed');
      },
    }),
  );
  return app;
}
