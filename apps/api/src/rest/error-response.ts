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
