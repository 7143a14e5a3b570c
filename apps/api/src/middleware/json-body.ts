import { bodyLimit } from 'hono/body-limit';
import { createMiddleware } from 'hono/factory';
import { errorResponse } from '../rest/error-response';

/** Refuses bodies over `maxBytes` with 413, before any of it is parsed. */
export function limitBody(maxBytes: number) {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) => errorResponse(c, 'payload_too_large', `Request bodies are limited to ${maxBytes} bytes`),
  });
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;.*)?$/i;

/** A request that carries a body must say it is JSON (415 otherwise). */
export function requireJsonBody() {
  return createMiddleware(async (c, next) => {
    const hasBody = c.req.raw.body !== null && c.req.header('content-length') !== '0';
    if (hasBody && ['POST', 'PUT', 'PATCH'].includes(c.req.method)) {
      const type = c.req.header('content-type') ?? '';
      if (!JSON_TYPE.test(type)) {
        return errorResponse(c, 'unsupported_media_type', 'Request bodies must be JSON (Content-Type: application/json)');
      }
    }
    await next();
  });
}
