import type { Database } from '@herald/db';
import type { ApiServices } from '@herald/router';
import { createContext, INVALID_JSON_MESSAGE, toApiErrorBody } from '@herald/router';
import { TRPCError } from '@trpc/server';
import type { Context as HonoContext } from 'hono';
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { idempotentScopeOf } from '../middleware/idempotency';
import type { HeraldEnv } from '../middleware/request-context';
import { answerJson, requestIdOf, setAnswerHeader } from '../middleware/request-context';
import { errorResponse, methodNotAllowed } from './error-response';
import { procedureCaller, restProcedures } from './procedures';

/**
 * Serves every procedure that has `meta.openapi` as a REST route: the input
 * is the JSON body (or the query string), plus the path parameters, and the
 * procedure validates it exactly as it does for tRPC.
 */
export function createRestRouter(db: Database, services: ApiServices) {
  const rest = new Hono<HeraldEnv>();
  for (const { path, openapi, pathParams } of restProcedures()) {
    rest.on(openapi.method, honoPathOf(openapi.path), async (c) => {
      const input = await readInput(c, openapi.method, pathParams);
      if (input instanceof Response) return input;
      // A request with an Idempotency-Key runs in the transaction that also stores its answer.
      const scoped = idempotentScopeOf(c.req.raw);
      const call = procedureCaller(
        createContext({
          headers: c.req.raw.headers,
          db: scoped?.db ?? db,
          services: scoped?.services ?? services,
          fromTrustedProxy: c.var.fromTrustedProxy,
        }),
        path,
      );
      try {
        const output = await call(input);
        return answerJson(c, output, (openapi.successStatus ?? 200) as ContentfulStatusCode);
      } catch (error) {
        if (!(error instanceof TRPCError)) throw error;
        const { status, body, retryAfterSeconds } = toApiErrorBody(error);
        const logged = { err: error.cause ?? error, procedure: path, requestId: requestIdOf(c) };
        if (body.error.code === 'service_unavailable') {
          services.logger?.warn(logged, 'database unavailable');
        } else if (status >= 500) {
          services.logger?.error(logged, 'procedure failed');
        }
        if (retryAfterSeconds !== undefined) setAnswerHeader(c, 'retry-after', String(retryAfterSeconds));
        return answerJson(c, body, status as ContentfulStatusCode);
      }
    });
  }
  // A path that exists answers any other method 405 with `Allow` (RFC 9110), not 404: the route
  // is there, the method is wrong. Registered after every route, so the routes match first.
  for (const [honoPath, methods] of methodsByPath()) rest.all(honoPath, methodNotAllowed(methods));
  return rest;
}

/** The methods of each REST path, in Hono's `:param` form. */
function methodsByPath(): Map<string, string[]> {
  const byPath = new Map<string, string[]>();
  for (const { openapi } of restProcedures()) {
    const honoPath = honoPathOf(openapi.path);
    byPath.set(honoPath, [...(byPath.get(honoPath) ?? []), openapi.method]);
  }
  return byPath;
}

const honoPathOf = (openapiPath: string) => openapiPath.replace(/\{(\w+)\}/g, ':$1');

async function readInput(
  c: HonoContext,
  method: string,
  pathParams: string[],
): Promise<Record<string, unknown> | Response> {
  let input: Record<string, unknown> = {};
  if (method === 'POST' || method === 'PATCH') {
    const text = await c.req.text();
    if (text.trim() !== '') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return errorResponse(c, 'invalid_json', INVALID_JSON_MESSAGE);
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
        return errorResponse(c, 'validation_error', 'The request body must be a JSON object');
      }
      input = parsed as Record<string, unknown>;
    }
  } else {
    // A parameter given twice (`?limit=1&limit=2`) is refused: taking the first silently answers
    // a question the client did not ask (which of two `type` filters it meant).
    const repeated = Object.entries(c.req.queries())
      .filter(([, values]) => values.length > 1)
      .map(([name]) => name);
    if (repeated.length > 0) {
      return errorResponse(
        c,
        'validation_error',
        'Request validation failed',
        repeated.map((name) => ({ path: name, message: `"${name}" is given more than once`, code: 'custom' })),
      );
    }
    input = { ...c.req.query() };
  }
  for (const name of pathParams) {
    // The path names the resource: an `id` in the body (or the query) too was silently replaced,
    // where any other key the operation does not take is refused.
    if (Object.hasOwn(input, name)) {
      return errorResponse(c, 'validation_error', 'Request validation failed', [
        {
          path: name,
          message: `"${name}" is given by the path; it may not be in the ${method === 'GET' || method === 'DELETE' ? 'query' : 'body'} too`,
          code: 'unrecognized_keys',
        },
      ]);
    }
    input[name] = c.req.param(name);
  }
  return input;
}
