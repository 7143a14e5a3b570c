import { randomUUID } from 'node:crypto';
import type { CallBudget } from '@herald/router';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { Logger } from 'pino';

export type RequestVariables = {
  requestId: string;
  /** The procedure calls the rate limit granted this request (`/v1` and `/trpc` only). */
  callBudget?: CallBudget;
};

/** The Hono environment of every Herald route: typed context variables, no casts. */
export type HeraldEnv = { Variables: RequestVariables };

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Gives every request an id (the caller's `X-Request-Id` when sane) and logs one line for it. */
export function requestContext(logger: Logger) {
  return createMiddleware<HeraldEnv>(async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    c.set('requestId', requestId);
    c.header('X-Request-Id', requestId);
    const started = performance.now();
    await next();
    logger.info(
      {
        requestId,
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
      },
      'request',
    );
  });
}

/** The id `requestContext` gave this request, for log lines written elsewhere. */
export function requestIdOf(c: Context<HeraldEnv>): string | undefined {
  return c.var.requestId;
}
