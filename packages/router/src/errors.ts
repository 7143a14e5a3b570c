import { isDatabaseUnavailable } from '@herald/db';
import { TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';

/**
 * Machine-readable error codes. Every error Herald returns, over REST or
 * tRPC, carries one of these next to a human message.
 */
export type ApiErrorCode =
  | 'validation_error'
  | 'invalid_json'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'email_taken'
  | 'endpoint_limit_reached'
  | 'idempotency_key_reused'
  | 'idempotency_request_in_flight'
  | 'rate_limited'
  | 'invalid_credentials'
  | 'user_locked'
  | 'batch_too_large'
  | 'method_not_allowed'
  | 'payment_required'
  | 'request_timeout'
  | 'precondition_failed'
  | 'unprocessable_content'
  | 'precondition_required'
  | 'client_closed_request'
  | 'not_implemented'
  | 'bad_gateway'
  | 'gateway_timeout'
  | 'service_unavailable'
  | 'internal_error';

const trpcCodeFor: Record<ApiErrorCode, TRPC_ERROR_CODE_KEY> = {
  validation_error: 'BAD_REQUEST',
  invalid_json: 'BAD_REQUEST',
  unsupported_media_type: 'UNSUPPORTED_MEDIA_TYPE',
  payload_too_large: 'PAYLOAD_TOO_LARGE',
  unauthorized: 'UNAUTHORIZED',
  forbidden: 'FORBIDDEN',
  not_found: 'NOT_FOUND',
  conflict: 'CONFLICT',
  email_taken: 'CONFLICT',
  endpoint_limit_reached: 'CONFLICT',
  idempotency_key_reused: 'UNPROCESSABLE_CONTENT',
  idempotency_request_in_flight: 'CONFLICT',
  rate_limited: 'TOO_MANY_REQUESTS',
  invalid_credentials: 'UNAUTHORIZED',
  user_locked: 'FORBIDDEN',
  batch_too_large: 'BAD_REQUEST',
  method_not_allowed: 'METHOD_NOT_SUPPORTED',
  payment_required: 'PAYMENT_REQUIRED',
  request_timeout: 'TIMEOUT',
  precondition_failed: 'PRECONDITION_FAILED',
  unprocessable_content: 'UNPROCESSABLE_CONTENT',
  precondition_required: 'PRECONDITION_REQUIRED',
  client_closed_request: 'CLIENT_CLOSED_REQUEST',
  not_implemented: 'NOT_IMPLEMENTED',
  bad_gateway: 'BAD_GATEWAY',
  gateway_timeout: 'GATEWAY_TIMEOUT',
  service_unavailable: 'SERVICE_UNAVAILABLE',
  internal_error: 'INTERNAL_SERVER_ERROR',
};

export const httpStatusFor: Record<ApiErrorCode, number> = {
  validation_error: 400,
  invalid_json: 400,
  unsupported_media_type: 415,
  payload_too_large: 413,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  email_taken: 409,
  endpoint_limit_reached: 409,
  idempotency_key_reused: 422,
  idempotency_request_in_flight: 409,
  rate_limited: 429,
  invalid_credentials: 401,
  user_locked: 403,
  batch_too_large: 400,
  method_not_allowed: 405,
  payment_required: 402,
  request_timeout: 408,
  precondition_failed: 412,
  unprocessable_content: 422,
  precondition_required: 428,
  client_closed_request: 499,
  not_implemented: 501,
  bad_gateway: 502,
  gateway_timeout: 504,
  service_unavailable: 503,
  internal_error: 500,
};

/** Seconds a client should wait before retrying a 503 (`Retry-After`). */
export const RETRY_AFTER_UNAVAILABLE_SECONDS = 2;
export const SERVICE_UNAVAILABLE_MESSAGE = 'The database is unavailable; retry shortly';

/** The error to answer when the database is unreachable, restarting or too slow: 503, retryable. */
export function serviceUnavailable(cause?: unknown): TRPCError {
  const error = apiError('service_unavailable', SERVICE_UNAVAILABLE_MESSAGE);
  const apiCause = error.cause as ApiErrorCause;
  apiCause.retryAfterSeconds = RETRY_AFTER_UNAVAILABLE_SECONDS;
  if (cause !== undefined) apiCause.cause = cause;
  return error;
}

export class ApiErrorCause extends Error {
  /** Seconds a client should wait before retrying (`Retry-After`), when the error says. */
  retryAfterSeconds?: number;
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export function apiError(code: ApiErrorCode, message: string, details?: unknown): TRPCError {
  return new TRPCError({ code: trpcCodeFor[code], message, cause: new ApiErrorCause(code, message, details) });
}

export function notFound(what: string): TRPCError {
  return apiError('not_found', `${what} not found`);
}

export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string; details?: unknown };
}

/**
 * The public code of an error tRPC raised itself (a 405 for GET on a
 * mutation, a malformed batch) or a procedure raised without `apiError`.
 * Complete by type: every tRPC code has one, with the same HTTP status.
 */
export const defaultCodeForTrpc: Record<TRPC_ERROR_CODE_KEY, ApiErrorCode> = {
  PARSE_ERROR: 'invalid_json',
  BAD_REQUEST: 'validation_error',
  UNAUTHORIZED: 'unauthorized',
  PAYMENT_REQUIRED: 'payment_required',
  FORBIDDEN: 'forbidden',
  NOT_FOUND: 'not_found',
  METHOD_NOT_SUPPORTED: 'method_not_allowed',
  TIMEOUT: 'request_timeout',
  CONFLICT: 'conflict',
  PRECONDITION_FAILED: 'precondition_failed',
  PAYLOAD_TOO_LARGE: 'payload_too_large',
  UNSUPPORTED_MEDIA_TYPE: 'unsupported_media_type',
  UNPROCESSABLE_CONTENT: 'unprocessable_content',
  PRECONDITION_REQUIRED: 'precondition_required',
  TOO_MANY_REQUESTS: 'rate_limited',
  CLIENT_CLOSED_REQUEST: 'client_closed_request',
  INTERNAL_SERVER_ERROR: 'internal_error',
  NOT_IMPLEMENTED: 'not_implemented',
  BAD_GATEWAY: 'bad_gateway',
  SERVICE_UNAVAILABLE: 'service_unavailable',
  GATEWAY_TIMEOUT: 'gateway_timeout',
};

/** What every invalid JSON body is told, REST or tRPC: never the parser's message, which quotes the body. */
export const INVALID_JSON_MESSAGE = 'The request body is not valid JSON';

/** Never leak internals (SQL, stack traces, the body) in these: their message is fixed. */
const GENERIC_MESSAGES: Partial<Record<ApiErrorCode, string>> = {
  invalid_json: INVALID_JSON_MESSAGE,
  internal_error: 'Internal server error',
  not_implemented: 'Not implemented',
  bad_gateway: 'Bad gateway',
  gateway_timeout: 'Gateway timeout',
};

/** Validation issues an answer lists at most. */
const MAX_ISSUES_SHOWN = 20;

/** The REST body and status for any error a procedure threw. */
export function toApiErrorBody(error: TRPCError): { status: number; body: ApiErrorBody; retryAfterSeconds?: number } {
  const cause = error.cause;
  if (cause instanceof ApiErrorCause) {
    return {
      ...(cause.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: cause.retryAfterSeconds }),
      status: httpStatusFor[cause.code],
      body: {
        error: {
          code: cause.code,
          message: cause.message,
          ...(cause.details === undefined ? {} : { details: cause.details }),
        },
      },
    };
  }
  if (isDatabaseUnavailable(cause)) {
    return {
      retryAfterSeconds: RETRY_AFTER_UNAVAILABLE_SECONDS,
      status: httpStatusFor.service_unavailable,
      body: { error: { code: 'service_unavailable', message: SERVICE_UNAVAILABLE_MESSAGE } },
    };
  }
  // tRPC's own JSON parse failure: its message quotes the body (a password in it, say). Fixed, as on REST.
  if ((error.code === 'BAD_REQUEST' || error.code === 'PARSE_ERROR') && cause instanceof SyntaxError) {
    return { status: 400, body: { error: { code: 'invalid_json', message: INVALID_JSON_MESSAGE } } };
  }
  if (error.code === 'BAD_REQUEST' && isZodLike(cause)) {
    return {
      status: 400,
      body: {
        error: {
          code: 'validation_error',
          message: 'Request validation failed',
          // The first ones: 22,000 bad header names made a 2.4 MB answer to a 240 KB request.
          details: cause.issues.slice(0, MAX_ISSUES_SHOWN).map(describeIssue),
        },
      },
    };
  }
  const code = defaultCodeForTrpc[error.code] ?? 'internal_error';
  const status = httpStatusFor[code];
  const message = GENERIC_MESSAGES[code] ?? error.message;
  return { status, body: { error: { code, message } } };
}

interface ZodLikeIssue {
  path: PropertyKey[];
  message: string;
  code: string;
}

function isZodLike(value: unknown): value is { issues: ZodLikeIssue[] } {
  return !!value && typeof value === 'object' && Array.isArray((value as { issues?: unknown }).issues);
}

function describeIssue(issue: ZodLikeIssue) {
  return { path: issue.path.map(String).join('.'), message: issue.message, code: issue.code };
}
