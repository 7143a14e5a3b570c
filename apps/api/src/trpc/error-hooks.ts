import { toApiErrorBody } from '@herald/router';
import type { TRPCError } from '@trpc/server';
import type { Logger } from 'pino';

/** What tRPC answers do with their errors, on the fetch adapter and on the single-call path alike. */
export interface TrpcErrorHooks {
  /** Logs what the server must know of: internal errors, and a database that is away. */
  onError(opts: { error: TRPCError; path: string | undefined }): void;
  /** Errors that say when to come back (503, 429) do so on tRPC too, as on REST: `Retry-After`. */
  responseMeta(opts: { errors: TRPCError[] }): { headers?: Record<string, string> };
}

export function trpcErrorHooks(logger: Logger, requestId: () => string | undefined): TrpcErrorHooks {
  return {
    onError({ error, path }) {
      if (error.code === 'INTERNAL_SERVER_ERROR') {
        logger.error({ err: error.cause ?? error, procedure: path, requestId: requestId() }, 'procedure failed');
      } else if (error.code === 'SERVICE_UNAVAILABLE') {
        logger.warn({ err: error.cause ?? error, procedure: path, requestId: requestId() }, 'database unavailable');
      }
    },
    responseMeta({ errors }) {
      const seconds = errors.map((e) => toApiErrorBody(e).retryAfterSeconds).find((s) => s !== undefined);
      return seconds === undefined ? {} : { headers: { 'retry-after': String(seconds) } };
    },
  };
}
