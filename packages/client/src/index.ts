import { createTRPCClient, httpBatchLink, httpLink, splitLink } from '@trpc/client';
import type { AppRouter } from './app-router';
import { checkTransportOptions, guardedFetch, isRedirect, redirectMessage } from './transport';

// The error class this client throws, from the same copy of @trpc/client (so `instanceof` holds, and
// a project need not install @trpc/client itself: pnpm does not hoist it).
export { TRPCClientError } from '@trpc/client';
export type { AppRouter, HeraldErrorData } from './app-router';
export { DEFAULT_MAX_RESPONSE_BYTES, ResponseTooLargeError, readBodyWithin, readResponseWithin } from './body-limit';
export { deadline, timeoutSignal } from './deadline';
export type { HeraldRestClientOptions } from './rest';
export { createHeraldRestClient } from './rest';
export { DEFAULT_TIMEOUT_MS } from './transport';

export interface HeraldClientOptions {
  /** Where the Herald API runs, e.g. `http://localhost:3000`. */
  baseUrl: string;
  /** A project API key (`sk_…`). */
  apiKey: string;
  /** Custom fetch (tests, instrumentation). */
  fetch?: typeof fetch;
  /** Most milliseconds a request may take, answer included (default 30,000; 0: no limit). */
  timeoutMs?: number;
  /**
   * Most bytes read of one answer (default 64 MiB; 0: no limit); past it the call fails with a
   * TRPCClientError whose `cause` is a ResponseTooLargeError.
   */
  maxResponseBytes?: number;
  /**
   * Most calls sent in one batched request (default 20, the API's `HERALD_MAX_BATCH_SIZE`): the
   * API refuses a larger batch whole, so more calls made at once travel as several requests.
   */
  maxBatchSize?: number;
}

/** The API's default `HERALD_MAX_BATCH_SIZE`. */
const DEFAULT_MAX_BATCH_SIZE = 20;
/** Queries travel in the URL; the API's server refuses a request line and headers over 16 KB. */
const MAX_URL_LENGTH = 8_000;

/**
 * The typed tRPC client: every procedure of the API with its inferred input and output.
 *
 * A mutation called with `{ context: { idempotencyKey } }` is sent alone (not batched: a batch is
 * one request under one key) with that `Idempotency-Key`, so a retry after a lost answer replays
 * the first answer instead of running again: `client.users.create.mutate(input, { context: {
 * idempotencyKey: 'signup-42' } })`.
 */
export function createHeraldClient(options: HeraldClientOptions) {
  checkTransportOptions(options);
  const send = guardedFetch(options);
  // A redirect is refused here, before tRPC reads it: its body is some other server's.
  const fetchOrRefuseRedirect: typeof fetch = async (input, init) => {
    const response = await send(input, init);
    if (!isRedirect(response)) return response;
    await response.body?.cancel();
    throw new Error(redirectMessage(response));
  };
  const url = `${options.baseUrl.replace(/\/$/, '')}/trpc`;
  const authorization = `Bearer ${options.apiKey}`;
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => typeof op.context.idempotencyKey === 'string',
        true: httpLink({
          url,
          headers: ({ op }) => ({ authorization, 'idempotency-key': op.context.idempotencyKey as string }),
          fetch: fetchOrRefuseRedirect,
        }),
        false: httpBatchLink({
          url,
          headers: () => ({ authorization }),
          maxItems: options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE,
          maxURLLength: MAX_URL_LENGTH,
          fetch: fetchOrRefuseRedirect,
        }),
      }),
    ],
  });
}

export type HeraldClient = ReturnType<typeof createHeraldClient>;
