import type { ApiErrorBody, ApiErrorCode } from '@herald/router';
import { apiError, httpStatusFor, RETRY_AFTER_UNAVAILABLE_SECONDS } from '@herald/router';
import { getErrorShape } from '@trpc/server/unstable-core-do-not-import';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { routerConfig } from './procedures';

/** tRPC's mount path (`endpoint` of the adapter in app.ts) and below. */
const TRPC_PATH = /^\/trpc(?:\/|$)/;

/**
 * The one error body Herald answers with: `{ error: { code, message, details? } }`. Under `/trpc`
 * it is wrapped in tRPC's error envelope (`{ error: { message, code, data: { herald: … } } }`), as
 * the procedures' own errors are: a refusal made before the router (a batch too large, a body too
 * large or not JSON, too many unknown keys) in REST's shape was unreadable to tRPC clients.
 */
export function errorResponse(c: Context, code: ApiErrorCode, message: string, details?: unknown) {
  if (code === 'service_unavailable') c.header('retry-after', String(RETRY_AFTER_UNAVAILABLE_SECONDS));
  const status = httpStatusFor[code] as ContentfulStatusCode;
  if (TRPC_PATH.test(c.req.path)) {
    const error = apiError(code, message, details);
    const shape = getErrorShape({
      config: routerConfig(),
      ctx: undefined,
      error,
      input: undefined,
      path: undefined,
      type: 'unknown',
    });
    return c.json({ error: shape }, status);
  }
  const body: ApiErrorBody = { error: { code, message, ...(details === undefined ? {} : { details }) } };
  return c.json(body, status);
}

/**
 * A path that exists, asked with a method it does not serve: 405 with `Allow` (RFC 9110), not 404.
 * `HEAD` is allowed wherever `GET` is (Hono answers it with the GET route), unless `headAllowed` is
 * false (a stream, whose GET handler refuses HEAD itself).
 */
export function methodNotAllowed(methods: readonly string[], { headAllowed = true } = {}) {
  const allow = [...methods, ...(headAllowed && methods.includes('GET') ? ['HEAD'] : [])].join(', ');
  return (c: Context) => {
    c.header('allow', allow);
    return errorResponse(c, 'method_not_allowed', `${c.req.method} is not allowed here; allowed: ${allow}`);
  };
}
