import type { AppRouter as ServerRouter } from '@herald/router';
import type {
  AnyProcedure,
  AnyRouter,
  TRPC_ERROR_CODE_KEY,
  TRPC_ERROR_CODE_NUMBER,
  TRPCBuiltRouter,
  TRPCMutationProcedure,
  TRPCQueryProcedure,
} from '@trpc/server';
import type { ApiError } from './sdk/types.gen';

// Why this file: a tRPC client needs each procedure's kind, input and output and the
// router's error shape, nothing else. The server's own `AppRouter` also carries its context
// (database, services), whose types would pull drizzle, postgres and @herald/* into the
// published declarations. `clientRouter()`'s return type is written as inline mapped types,
// so the emitted `.d.ts` spells the whole shape out and imports nothing but @trpc/server.

/**
 * The `herald` member of a tRPC error's data: the same `{ code, message, details? }` REST answers
 * with (without the three codes the REST client makes itself, which no server sends).
 */
export type HeraldErrorData = {
  code: Exclude<ApiError['error']['code'], 'network_error' | 'invalid_response' | 'response_too_large'>;
  message: string;
  details?: unknown;
};

/** The client's view of a router: sub-routers of procedures (Herald's router has no deeper nesting). */
function clientRouter<R extends AnyRouter>(): TRPCBuiltRouter<
  {
    ctx: object;
    meta: object;
    // Written out (checked against the server's in test/app-router.test.ts): deriving it
    // would keep the server's `ApiErrorCode` alias, an import of @herald/router.
    errorShape: {
      message: string;
      code: TRPC_ERROR_CODE_NUMBER;
      data: {
        code: TRPC_ERROR_CODE_KEY;
        httpStatus: number;
        path?: string;
        stack?: undefined;
        herald: HeraldErrorData;
      };
    };
    transformer: false;
  },
  {
    [K in keyof R['_def']['record']]: {
      [P in keyof R['_def']['record'][K]]: R['_def']['record'][K][P] extends infer Proc extends AnyProcedure
        ? Proc['_def']['type'] extends 'mutation'
          ? TRPCMutationProcedure<{
              input: Proc['_def']['$types']['input'];
              output: Proc['_def']['$types']['output'];
              meta: object;
            }>
          : TRPCQueryProcedure<{
              input: Proc['_def']['$types']['input'];
              output: Proc['_def']['$types']['output'];
              meta: object;
            }>
        : never;
    };
  }
> {
  // Only its type matters: nothing imports this module at run time (`AppRouter` is a type).
  return undefined as never;
}

const shape = clientRouter<ServerRouter>();

/** Herald's tRPC router as clients see it: `createTRPCClient<AppRouter>(…)`. */
export type AppRouter = typeof shape;
