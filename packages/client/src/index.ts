import { createTRPCClient, httpBatchLink } from '@trpc/client';
import type { AppRouter } from './app-router';

export type { AppRouter, HeraldErrorData } from './app-router';
export type { HeraldRestClientOptions } from './rest';
export { createHeraldRestClient } from './rest';

export interface HeraldClientOptions {
  /** Where the Herald API runs, e.g. `http://localhost:3000`. */
  baseUrl: string;
  /** A project API key (`sk_…`). */
  apiKey: string;
  /** Custom fetch (tests, instrumentation). */
  fetch?: typeof fetch;
}

/** The typed tRPC client: every procedure of the API with its inferred input and output. */
export function createHeraldClient(options: HeraldClientOptions) {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: `${options.baseUrl.replace(/\/$/, '')}/trpc`,
        headers: () => ({ authorization: `Bearer ${options.apiKey}` }),
        ...(options.fetch ? { fetch: options.fetch } : {}),
      }),
    ],
  });
}

export type HeraldClient = ReturnType<typeof createHeraldClient>;
