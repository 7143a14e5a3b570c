import type { ApiErrorBody, ApiErrorCode } from '@herald/router';
import { httpStatusFor, RETRY_AFTER_UNAVAILABLE_SECONDS } from '@herald/router';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** The one error body Herald answers with: `{ error: { code, message, details? } }`. */
export function errorResponse(c: Context, code: ApiErrorCode, message: string, details?: unknown) {
  const body: ApiErrorBody = { error: { code, message, ...(details === undefined ? {} : { details }) } };
  if (code === 'service_unavailable') c.header('retry-after', String(RETRY_AFTER_UNAVAILABLE_SECONDS));
  return c.json(body, httpStatusFor[code] as ContentfulStatusCode);
}

/**
 * A path that exists, asked with a method it does not serve: 405 with `Allow` (RFC 9110), not 404.
 * `HEAD` is allowed wherever `GET` is (Hono answers it with the GET route).
 */
export function methodNotAllowed(methods: readonly string[]) {
  const allow = [...methods, ...(methods.includes('GET') ? ['HEAD'] : [])].join(', ');
  return (c: Context) => {
    c.header('allow', allow);
    return errorResponse(c, 'method_not_allowed', `${c.req.method} is not allowed here; allowed: ${allow}`);
  };
}
