import type { AppRouter as ServerRouter } from '@herald/router';
import type { AnyRouter, inferRouterError, inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { describe, expectTypeOf, it } from 'vitest';
import type { AppRouter } from '../src/app-router';

// Compile-time checks (`pnpm typecheck`): the client's router type, which the published
// declarations carry instead of the server's, must not drift from the server's router.

/** `query` or `mutation` for every procedure, by sub-router and name. */
type Kinds<R extends AnyRouter> = {
  [K in keyof R['_def']['record']]: {
    [P in keyof R['_def']['record'][K]]: R['_def']['record'][K][P] extends { _def: { type: infer T } } ? T : never;
  };
};

describe("the client's AppRouter", () => {
  it('has every procedure of the server, of the same kind', () => {
    expectTypeOf<Kinds<AppRouter>>().toEqualTypeOf<Kinds<ServerRouter>>();
  });

  it('takes and returns what the server does', () => {
    expectTypeOf<inferRouterInputs<AppRouter>>().toEqualTypeOf<inferRouterInputs<ServerRouter>>();
    expectTypeOf<inferRouterOutputs<AppRouter>>().toEqualTypeOf<inferRouterOutputs<ServerRouter>>();
  });

  it("carries the server's error data, Herald's error code included", () => {
    type ClientData = inferRouterError<AppRouter>['data'];
    type ServerData = inferRouterError<ServerRouter>['data'];
    expectTypeOf<ClientData['herald']>().toEqualTypeOf<ServerData['herald']>();
    expectTypeOf<ClientData['code']>().toEqualTypeOf<ServerData['code']>();
    expectTypeOf<ClientData['httpStatus']>().toEqualTypeOf<ServerData['httpStatus']>();
  });
});
