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
  const client = createClient(
    createConfig<ClientOptions>({
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      ...(options.apiKey === undefined ? {} : { auth: options.apiKey }),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    }),
  );
  client.interceptors.response.use(heraldAnswerOrError);
  client.interceptors.error.use((error, response) => (response ? error : networkError(error)));
  return client;
}

/** What every failure looks like to callers: Herald's own error body. */
export interface HeraldErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/**
 * An answer that is not Herald's (a proxy's HTML page, a body cut short, a 200 that is not JSON)
 * becomes an error in Herald's shape, `invalid_response`, with the answer's status (502 for a
 * 2xx): the generated client would otherwise throw a `SyntaxError`, return the HTML as `data`
 * typed as the operation's result, or return a string as `error`, where callers read
 * `error.error.code`.
 */
async function heraldAnswerOrError(response: Response): Promise<Response> {
  if (response.status === 204 || response.headers.get('content-length') === '0') return response;
  const text = await response.clone().text();
  let parsed: unknown;
  const json = /^application\/(?:[\w.+-]+\+)?json\b/i.test(response.headers.get('content-type') ?? '');
  if (json) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  if (response.ok ? parsed !== undefined : isHeraldError(parsed)) return response;
  const what = json ? 'JSON that is not valid' : `${response.headers.get('content-type') ?? 'no content type'}`;
  const body: HeraldErrorBody = {
    error: {
      code: 'invalid_response',
      message: `HTTP ${response.status} from the API was not a Herald answer (${what}): a proxy or another server answered?`,
    },
  };
  return new Response(JSON.stringify(body), {
    status: response.ok ? 502 : response.status,
    statusText: response.statusText,
    headers: { 'content-type': 'application/json' },
  });
}

function isHeraldError(value: unknown): value is HeraldErrorBody {
  const error = (value as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return typeof error?.code === 'string' && typeof error.message === 'string';
}

/** A request that got no answer (refused, reset, DNS, aborted), in Herald's error shape. */
function networkError(error: unknown): HeraldErrorBody {
  const reason =
    error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
  return { error: { code: 'network_error', message: `No answer from the API: ${reason}` } };
}
