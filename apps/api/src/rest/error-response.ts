import type { ApiErrorBody, ApiErrorCode } from '@herald/router';
import { httpStatusFor } from '@herald/router';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** The one error body Herald answers with: `{ error: { code, message, details? } }`. */
export function errorResponse(c: Context, code: ApiErrorCode, message: string, details?: unknown) {
  const body: ApiErrorBody = { error: { code, message, ...(details === undefined ? {} : { details }) } };
  return c.json(body, httpStatusFor[code] as ContentfulStatusCode);
}
