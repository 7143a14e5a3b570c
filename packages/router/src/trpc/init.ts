import { createHash, timingSafeEqual } from 'node:crypto';
import { isDatabaseUnavailable } from '@herald/db';
import type { TRPCError } from '@trpc/server';
import { initTRPC } from '@trpc/server';
import { ApiErrorCause, apiError, serviceUnavailable, toApiErrorBody } from '../errors';
import { bearerToken } from '../services/api-keys';
import type { CallBudget, Context } from './context';
import { portalSessionOf } from './portal-auth';

/** REST exposure of a procedure: the same procedure answers under `/v1`. */
export interface OpenApiMeta {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path under `/v1`, with `{param}` segments taken from the input. */
  path: string;
  summary: string;
  tags: string[];
  successStatus?: number;
  /** Which security scheme protects it. */
  auth: 'apiKey' | 'admin';
}

export interface Meta {
  openapi?: OpenApiMeta;
}

const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    errorFormatter({ shape, error }) {
      // tRPC clients get the same machine-readable error as REST clients.
      const { body } = toApiErrorBody(error);
      return { ...shape, message: body.error.message, data: { ...shape.data, stack: undefined, herald: body.error } };
    },
  });

export const router = t.router;
export const middleware = t.middleware;
export const createCallerFactory = t.createCallerFactory;

/**
 * Every procedure starts here: a database that is unreachable or restarting
 * becomes 503 `service_unavailable` (retry shortly), never a 500, whichever
 * query of the procedure or of its auth middleware met it.
 */
export const publicProcedure = t.procedure.use(async ({ ctx, next }) => {
  // Each call of a tRPC batch counts against the rate limit: past the request's grant it is refused alone.
  if (ctx.callBudget && !ctx.callBudget.take()) throw callRateLimited(ctx.callBudget);
  const result = await next();
  if (!result.ok && !(result.error.cause instanceof ApiErrorCause) && isDatabaseUnavailable(result.error.cause)) {
    throw serviceUnavailable(result.error.cause);
  }
  return result;
});

/** Every project-scoped procedure runs with the caller's project id. */
export const projectProcedure = publicProcedure.use(async ({ ctx, next, path, type }) => {
  const identity = await ctx.services.apiKeys.identify(ctx.headers);
  if (identity) return next({ ctx: { ...ctx, projectId: identity.projectId, apiKeyId: identity.apiKeyId } });
  // The portal's browser session: scoped server-side to the project its link was minted for.
  const session = await portalSessionOf(ctx, { path, type }, 'project');
  if (!session?.projectId) throw apiError('unauthorized', 'A valid API key is required (Authorization: Bearer sk_…)');
  return next({ ctx: { ...ctx, projectId: session.projectId, apiKeyId: null } });
});

export const adminProcedure = publicProcedure.use(async ({ ctx, next }) => {
  if (!isAdmin(ctx)) {
    throw apiError('unauthorized', 'The admin token is required (Authorization: Bearer <HERALD_ADMIN_TOKEN>)');
  }
  return next();
});

/** The admin token, or the portal's operator session (signed in with it). */
export const operatorProcedure = publicProcedure.use(async ({ ctx, next, path, type }) => {
  if (isAdmin(ctx) || (await portalSessionOf(ctx, { path, type }, 'operator'))) return next();
  throw apiError('unauthorized', 'The admin token or an operator sign-in is required');
});

function isAdmin(ctx: Context): boolean {
  return matchesAdminToken(ctx.services.config.adminToken, bearerToken(ctx.headers));
}

/** True if `token` is the configured admin token (never when none is configured). */
export function matchesAdminToken(expected: string | undefined | null, token: string | null | undefined): boolean {
  return Boolean(expected && token && sameSecret(token, expected));
}

function callRateLimited(budget: CallBudget): TRPCError {
  const error = apiError(
    'rate_limited',
    `Rate limit of ${budget.policy} exceeded (each call of a batch counts as one request)`,
  );
  (error.cause as ApiErrorCause).retryAfterSeconds = budget.retryAfterSeconds;
  return error;
}

function sameSecret(a: string, b: string) {
  // Hashing first gives equal lengths, so the comparison never throws.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

export { ApiErrorCause };
