import { createHeraldRestClient } from '@herald/client';
import type { CliConfig } from './config';
import { CliError } from './errors';

export type RestClient = ReturnType<typeof createHeraldRestClient>;

/** A REST SDK call's answer (`@herald/client/sdk` functions without `throwOnError`). */
type SdkResult<T> =
  | { data?: T; error?: unknown; response?: Response }
  | { data: T; error: undefined; response: Response };

export interface Api {
  config: CliConfig;
  /** The generated REST SDK's client: pass as `client` to `@herald/client/sdk` functions. */
  client: RestClient;
  /** Awaits an SDK call and returns its data, or throws a one-line CliError for every failure. */
  call<T>(what: string, result: Promise<SdkResult<T>>): Promise<T>;
  /** `fetch` against the API with the key (routes the SDK has no function for: the listen stream). */
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

export function createApi(config: CliConfig): Api {
  const client = createHeraldRestClient({ baseUrl: config.apiUrl, apiKey: config.apiKey });
  return {
    config,
    client,
    async call(what, pending) {
      let result: SdkResult<unknown>;
      try {
        result = await pending;
      } catch (error) {
        throw networkError(config.apiUrl, error);
      }
      if (!result.response) throw networkError(config.apiUrl, result.error);
      if (result.error !== undefined || !result.response.ok) {
        throw apiError(config.apiUrl, what, result.response, result.error);
      }
      // A 2xx that is not Herald's JSON (a web server, a proxy page) is a wrong URL, not data.
      if (!isHeraldAnswer(result.response) || result.data === undefined || typeof result.data !== 'object') {
        throw notHerald(config.apiUrl, what, result.response.status);
      }
      return result.data as never;
    },
    async fetch(path, init = {}) {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${config.apiKey}`);
      try {
        return await fetch(`${config.apiUrl}${path}`, { ...init, headers, redirect: 'manual' });
      } catch (error) {
        if (init.signal?.aborted) throw error;
        throw networkError(config.apiUrl, error);
      }
    },
  };
}

/** Every Herald answer carries X-Request-Id; a server that does not is something else at this URL. */
function isHeraldAnswer(response: Response): boolean {
  return response.headers.has('x-request-id') && (response.headers.get('content-type') ?? '').includes('json');
}

function notHerald(apiUrl: string, what: string, status: number): CliError {
  return new CliError(
    `No Herald API at ${apiUrl}: ${what} answered HTTP ${status} without Herald's JSON (check --api-url / HERALD_API_URL)`,
    'not_herald',
  );
}

/** A refused answer: Herald's `{ error: { code, message } }` in one line; 401 says what to check. */
export function apiError(apiUrl: string, what: string, response: Response, body: unknown): CliError {
  const herald = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (!isHeraldAnswer(response) || typeof herald?.code !== 'string') {
    return notHerald(apiUrl, what, response.status);
  }
  if (response.status === 401) {
    return new CliError(
      `The API key was refused (401 unauthorized) by ${apiUrl}: check --api-key / HERALD_API_KEY`,
      'unauthorized',
    );
  }
  return new CliError(
    `${what} failed: ${String(herald.message ?? herald.code)} (${response.status} ${herald.code})`,
    herald.code,
  );
}

/** The server could not be reached at all: refused, unknown host, timed out. */
export function networkError(apiUrl: string, error: unknown): CliError {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const reason =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'host not found'
        : code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT'
          ? 'connection timed out'
          : (code ??
            (typeof cause?.message === 'string' ? cause.message : undefined) ??
            (error instanceof Error ? error.message : 'network error'));
  return new CliError(`Cannot reach the Herald API at ${apiUrl}: ${reason} (is it running?)`, 'unreachable');
}
