import type { Context, OpenApiMeta } from '@herald/router';
import { appRouter } from '@herald/router';
import type { AnyProcedure } from '@trpc/server';

/**
 * The one module that reads tRPC's private internals (`router._def.procedures`, `router._def._config`,
 * `procedure._def.meta/inputs/output/type`). tRPC 11 has no public API to list a
 * router's procedures with their schemas; `trpc-to-openapi` reads the same
 * fields. `test/rest-procedures.test.ts` fails loudly if an upgrade moves them.
 */
export interface RestProcedure {
  /** tRPC path, e.g. `users.create`. */
  path: string;
  openapi: OpenApiMeta;
  pathParams: string[];
  /** The zod schema of the input (undefined when the procedure takes none). */
  inputSchema: unknown;
  /** The zod schema of the output. */
  outputSchema: unknown;
}

interface ProcedureInternals {
  meta?: { openapi?: OpenApiMeta };
  inputs?: unknown[];
  output?: unknown;
}

/** Every procedure exposed under `/v1`: the single source for routes and the OpenAPI document. */
export function restProcedures(): RestProcedure[] {
  const procedures = appRouter._def.procedures as unknown as Record<string, AnyProcedure>;
  return Object.entries(procedures).flatMap(([path, procedure]) => {
    const internals = procedure._def as unknown as ProcedureInternals;
    const openapi = internals.meta?.openapi;
    if (!openapi) return [];
    const pathParams = [...openapi.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
    return [{ path, openapi, pathParams, inputSchema: internals.inputs?.[0], outputSchema: internals.output }];
  });
}

/** The procedure at `path` (`users.get`), or undefined when there is none. */
function procedureAt(path: string): AnyProcedure | undefined {
  const procedures = appRouter._def.procedures as unknown as Record<string, AnyProcedure | undefined>;
  return Object.hasOwn(procedures, path) ? procedures[path] : undefined;
}

/** The type of the procedure at `path` (`users.get`), or undefined when there is none. */
export function procedureTypeAt(path: string): AnyProcedure['_def']['type'] | undefined {
  return procedureAt(path)?._def.type;
}

/** The router's runtime config (error formatter, transformer), as tRPC's adapters pass it to `getErrorShape`. */
export function routerConfig() {
  return appRouter._def._config;
}

/** How tRPC's own callers invoke a procedure (`createCaller`, the adapters): one call's options. */
interface ProcedureCallOptions {
  ctx: Context;
  path: string;
  type: AnyProcedure['_def']['type'];
  getRawInput: () => Promise<unknown>;
  signal: AbortSignal | undefined;
  batchIndex: number;
}

/**
 * The procedure at `path` (`users.get`) as a function of its input, run with `ctx` as tRPC's
 * `createCaller` runs it, without the caller's proxies (a proxy per path segment, an async lookup
 * of the path) on every request. Callers pass paths they found in the router (the REST routes,
 * `procedureTypeAt`).
 */
export function procedureCaller(ctx: Context, path: string): (input: unknown) => Promise<unknown> {
  const procedure = procedureAt(path);
  if (!procedure) throw new Error(`no procedure at ${JSON.stringify(path)}`);
  const call = procedure as unknown as (options: ProcedureCallOptions) => Promise<unknown>;
  const type = procedure._def.type;
  return (input) => call({ ctx, path, type, getRawInput: async () => input, signal: undefined, batchIndex: 0 });
}
