import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { createMiddleware } from 'hono/factory';
import { errorResponse } from '../rest/error-response';

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/**
 * Only writes are inspected: touching `c.req.raw` makes @hono/node-server
 * build a full Request object, a cost reads should not pay.
 */
function carriesBody(c: Context): boolean {
  return METHODS_WITH_BODY.has(c.req.method) && c.req.header('content-length') !== '0' && c.req.raw.body !== null;
}

/** Refuses bodies over `maxBytes` with 413, before any of it is parsed. */
export function limitBody(maxBytes: number) {
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: (c) => errorResponse(c, 'payload_too_large', `Request bodies are limited to ${maxBytes} bytes`),
  });
  return createMiddleware(async (c, next) => (METHODS_WITH_BODY.has(c.req.method) ? limit(c, next) : next()));
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;.*)?$/i;

/** A request that carries a body must say it is JSON (415 otherwise). */
export function requireJsonBody() {
  return createMiddleware(async (c, next) => {
    if (carriesBody(c) && !JSON_TYPE.test(c.req.header('content-type') ?? '')) {
      return errorResponse(c, 'unsupported_media_type', 'Request bodies must be JSON (Content-Type: application/json)');
    }
    await next();
  });
}
