import type { OpenApiMeta } from '@herald/router';
import { appRouter } from '@herald/router';
import type { AnyProcedure } from '@trpc/server';

export interface RestProcedure {
  /** tRPC path, e.g. `users.create`. */
  path: string;
  procedure: AnyProcedure;
  openapi: OpenApiMeta;
  pathParams: string[];
}

/** Every procedure exposed under `/v1`: the single source for routes and the OpenAPI document. */
export function restProcedures(): RestProcedure[] {
  const procedures = appRouter._def.procedures as unknown as Record<string, AnyProcedure>;
  return Object.entries(procedures).flatMap(([path, procedure]) => {
    const openapi = (procedure._def.meta as { openapi?: OpenApiMeta } | undefined)?.openapi;
    if (!openapi) return [];
    const pathParams = [...openapi.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
    return [{ path, procedure, openapi, pathParams }];
  });
}
