import type { Client } from './sdk/client';
import { createClient, createConfig } from './sdk/client';
import type { ClientOptions } from './sdk/types.gen';

export interface HeraldRestClientOptions {
  /** Where the Herald API runs, e.g. `http://localhost:3000` (the SDK adds `/v1/...`). */
  baseUrl: string;
  /**
   * Bearer token sent where the operation requires one: a project API key
   * (`sk_…`), or the admin token for `projectsCreate`. Override per call
   * with the `auth` option.
   */
  apiKey?: string;
  /** Custom fetch (tests, instrumentation). */
  fetch?: typeof fetch;
}

/**
 * A client instance for the generated REST SDK (`@herald/client/sdk`): pass
 * it as `client` to any SDK function.
 *
 * ```ts
 * const client = createHeraldRestClient({ baseUrl, apiKey });
 * const { data, error } = await usersGet({ client, path: { id } });
 * ```
 */
export function createHeraldRestClient(options: HeraldRestClientOptions): Client {
  return createClient(
    createConfig<ClientOptions>({
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      ...(options.apiKey === undefined ? {} : { auth: options.apiKey }),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    }),
  );
}
