import { httpStatusFor, toApiErrorBody } from '@herald/router';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import { describe, expect, it } from 'vitest';

/** Every error tRPC can raise by itself reaches clients with a public code of the same HTTP status. */
describe('tRPC error codes → public error codes', () => {
  const codes = Object.keys(TRPC_ERROR_CODES_BY_KEY) as TRPC_ERROR_CODE_KEY[];

  it.each(codes)('%s', (trpcCode) => {
    const error = new TRPCError({ code: trpcCode, message: 'secret detail: select * from users' });
    const { status, body } = toApiErrorBody(error);
    expect(status).toBe(getHTTPStatusCodeFromError(error));
    expect(httpStatusFor[body.error.code]).toBe(status);
    if (trpcCode !== 'INTERNAL_SERVER_ERROR') expect(body.error.code).not.toBe('internal_error');
    // Internals never leak through a server error's message.
    if (status >= 500 && trpcCode !== 'SERVICE_UNAVAILABLE') expect(body.error.message).not.toMatch(/select/);
  });

  it('names the ones clients meet with their own words', () => {
    const codeOf = (code: TRPC_ERROR_CODE_KEY) => toApiErrorBody(new TRPCError({ code })).body.error.code;
    expect(codeOf('METHOD_NOT_SUPPORTED')).toBe('method_not_allowed');
    expect(codeOf('PARSE_ERROR')).toBe('invalid_json');
    expect(codeOf('PAYLOAD_TOO_LARGE')).toBe('payload_too_large');
    expect(codeOf('UNSUPPORTED_MEDIA_TYPE')).toBe('unsupported_media_type');
    expect(codeOf('NOT_IMPLEMENTED')).toBe('not_implemented');
    expect(codeOf('TIMEOUT')).toBe('request_timeout');
    expect(codeOf('CLIENT_CLOSED_REQUEST')).toBe('client_closed_request');
  });
});
