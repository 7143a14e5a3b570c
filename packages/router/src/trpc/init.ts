import { createHash, timingSafeEqual } from 'node:crypto';
import { isDatabaseUnavailable } from '@herald/db';
import { initTRPC, TRPCError } from '@trpc/server';
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
  takeCall(ctx);
  return unavailableAs503(await inTurn(ctx, () => next()));
});

/**
 * Every project-scoped procedure runs with the caller's project id. `publicProcedure`'s checks are
 * made here too, in the same middleware: each middleware is one more level of tRPC's chain (two
 * copies of the call's options, a promise) on every call.
 */
export const projectProcedure = t.procedure.use(async ({ ctx, next, path, type }) => {
  takeCall(ctx);
  return inTurn(ctx, async () => {
    let scoped: { projectId: string; apiKeyId: string | null };
    try {
      scoped = await projectOf(ctx, path, type);
    } catch (error) {
      // As a failure returned by `next()` is: tRPC wraps what is not a TRPCError in one.
      const cause = error instanceof TRPCError ? error.cause : error;
      if (isUnavailable(cause)) throw serviceUnavailable(cause);
      throw error;
    }
    return unavailableAs503(await next({ ctx: { ...ctx, ...scoped } }));
  });
});

/** The call, run in its turn when the request's calls share a transaction (`serialCalls`). */
function inTurn<T>(ctx: Context, call: () => Promise<T>): Promise<T> {
  return ctx.serialCalls ? ctx.serialCalls(call) : call();
}

/** Each call of a tRPC batch counts against the rate limit: past the request's grant it is refused alone. */
function takeCall(ctx: Context): void {
  if (ctx.callBudget && !ctx.callBudget.take()) throw callRateLimited(ctx.callBudget);
}

/** A call that failed on an unreachable database: 503, not 500. */
function unavailableAs503<R extends { ok: boolean; error?: TRPCError }>(result: R): R {
  const cause = result.ok ? undefined : result.error?.cause;
  if (isUnavailable(cause)) throw serviceUnavailable(cause);
  return result;
}

/** An unreachable database's error, not one of Herald's own answers. */
function isUnavailable(cause: unknown): boolean {
  return Boolean(cause) && !(cause instanceof ApiErrorCause) && isDatabaseUnavailable(cause);
}

/** The caller's project: its API key's, or the one a portal session was opened for. */
async function projectOf(ctx: Context, path: string, type: string) {
  const identity = await ctx.services.apiKeys.identify(ctx.headers);
  if (identity) return { projectId: identity.projectId, apiKeyId: identity.apiKeyId as string | null };
  // The portal's browser session: scoped server-side to the project its link was minted for.
  const session = await portalSessionOf(ctx, { path, type }, 'project');
  if (!session?.projectId) throw apiError('unauthorized', 'A valid API key is required (Authorization: Bearer sk_…)');
  return { projectId: session.projectId, apiKeyId: null };
}

export const adminProcedure = publicProcedure.use(async ({ ctx, next }) => {
  if (!isAdmin(ctx)) {
    // Said apart: an operator whose token is refused because the server has none set would look for a typo.
    if (!ctx.services.config.adminToken) {
      throw apiError('unauthorized', 'This server has no admin token: set HERALD_ADMIN_TOKEN to create projects');
    }
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
  return matchesSecret(expected, token);
}

/** True if `token` equals the configured secret `expected` (never when none is configured), in constant time. */
export function matchesSecret(expected: string | undefined | null, token: string | null | undefined): boolean {
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
