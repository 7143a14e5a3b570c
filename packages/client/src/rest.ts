import { ResponseTooLargeError } from './body-limit';
import type { Client } from './sdk/client';
import { createClient, createConfig } from './sdk/client';
import type { ClientOptions } from './sdk/types.gen';
import { checkTransportOptions, guardedFetch, isRedirect, redirectMessage } from './transport';

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
  /** Most milliseconds a call may take, answer included (default 30,000; 0: no limit). */
  timeoutMs?: number;
  /**
   * Most bytes read of one answer (default 64 MiB; 0: no limit). Past it the call's `error` is
   * `response_too_large` (status 0: the answer was not read); with `throwOnError` it throws a ResponseTooLargeError.
   */
  maxResponseBytes?: number;
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
  checkTransportOptions(options);
  const client = createClient(
    createConfig<ClientOptions>({
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      ...(options.apiKey === undefined ? {} : { auth: options.apiKey }),
      fetch: guardedFetch(options),
      redirect: 'manual',
    }),
  );
  client.interceptors.response.use(heraldAnswerOrError);
  client.interceptors.error.use((error, response, _request, callOptions) => {
    if (response) return error;
    // The API answered, but more than maxResponseBytes: not a network failure, and retrying gets the same
    // answer. Thrown as the typed error callers catch with instanceof (it has Herald's shape as well).
    if (error instanceof ResponseTooLargeError) return callOptions.throwOnError ? error : { error: error.error };
    return networkError(error);
  });
  return client;
}

/** What every failure looks like to callers: Herald's own error body. */
export interface HeraldErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/**
 * An answer that is not Herald's (a proxy's HTML page, a body cut short, a 200 that is not JSON, a
 * redirect) becomes an error in Herald's shape, `invalid_response`, with the answer's status (502 for
 * a 2xx): the generated client would otherwise throw a `SyntaxError`, return the HTML as `data`
 * typed as the operation's result, or return a string as `error`, where callers read
 * `error.error.code`.
 */
async function heraldAnswerOrError(response: Response): Promise<Response> {
  // Every answer of the API but 204 has a JSON body: an empty one is a proxy's, or a load balancer's.
  if (response.status === 204) return response;
  if (isRedirect(response)) {
    // Not read: its connection is let go now rather than at garbage collection.
    await response.body?.cancel().catch(() => {});
    return invalidResponse(response, redirectMessage(response));
  }
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
  const what =
    text === ''
      ? 'an empty body'
      : json
        ? 'JSON that is not valid'
        : `${response.headers.get('content-type') ?? 'no content type'}`;
  return invalidResponse(
    response,
    `HTTP ${response.status} from the API was not a Herald answer (${what}): a proxy or another server answered?`,
  );
}

/**
 * An answer that is not Herald's, as an error in Herald's shape with its status. 502 only where that
 * status cannot stand: a 2xx would be read as a success, a 304 can carry no body, and a browser's
 * opaque redirect has status 0 (as has nothing a Response can be made with below 200). A redirect
 * keeps its 3xx: a 502 read as a gateway failure is retried, while a redirect is a wrong `baseUrl`
 * that no retry mends.
 */
function invalidResponse(response: Response, message: string): Response {
  const body: HeraldErrorBody = { error: { code: 'invalid_response', message } };
  // A status that may carry no body (304 Not Modified; 204 and 205 are 2xx already) cannot hold
  // the error body: `new Response` throws a TypeError for it.
  const bodiless = response.status === 304;
  return new Response(JSON.stringify(body), {
    status: response.ok || response.status < 200 || bodiless ? 502 : response.status,
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
