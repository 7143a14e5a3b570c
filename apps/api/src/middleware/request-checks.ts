import { createMiddleware } from 'hono/factory';
import { readBodyWithin, refuseDeepJson, refuseInvalidUtf8, refuseNonJsonBody } from './json-body';
import { refuseLargeBatch } from './rate-limit';
import { setAnswerHeader } from './request-context';

export interface RequestChecks {
  /** Largest body taken (413 `payload_too_large` past it). */
  bodyLimitBytes: number;
  /** Most procedures in one tRPC batch (400 `batch_too_large` past it). */
  maxBatchSize: number;
}

/**
 * What every `/v1` and `/trpc` request passes before the rate limit (and `Cache-Control: no-store`
 * on its answer), in this order: its body read
 * within the limit (413), JSON in UTF-8 if it has one (415, then 400 for bytes that are not UTF-8), nested at most `MAX_JSON_DEPTH` deep (400), and
 * a tRPC batch of at most `maxBatchSize` calls (400). The first refusal answers. One middleware,
 * not four: each one costs every request a promise and a frame more.
 */
export function checkRequest(options: RequestChecks) {
  return createMiddleware(async (c, next) => {
    // Answers hold tenants' data and secrets (a signing secret, header values): never kept in a
    // browser's or a proxy's cache, where they outlived the portal's sign-out.
    setAnswerHeader(c, 'cache-control', 'no-store');
    const refusal =
      (await readBodyWithin(c, options.bodyLimitBytes)) ??
      refuseNonJsonBody(c) ??
      refuseInvalidUtf8(c) ??
      (await refuseDeepJson(c)) ??
      refuseLargeBatch(c, options.maxBatchSize);
    if (refusal) return refusal;
    await next();
  });
}
