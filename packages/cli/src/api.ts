import { createHeraldRestClient } from '@herald/client';
import type { CliConfig } from './config';
import { CliError } from './errors';
import { fetchWithinLimit, formatMegabytes, ResponseTooLargeError } from './http-body';

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
  const client = createHeraldRestClient({ baseUrl: config.apiUrl, apiKey: config.apiKey, fetch: fetchWithinLimit });
  return {
    config,
    client,
    async call(what, pending) {
      let result: SdkResult<unknown>;
      try {
        result = await pending;
      } catch (error) {
        // The SDK parses a 2xx answer's JSON after fetch resolved: a SyntaxError is the body, not the network.
        if (error instanceof SyntaxError) throw notJson(config.apiUrl, what);
        throw networkError(config.apiUrl, error);
      }
      if (result.error instanceof ResponseTooLargeError) {
        const limit = formatMegabytes(result.error.maxBytes);
        throw new CliError(
          `${what} failed: the answer from ${config.apiUrl} was larger than ${limit}`,
          'response_too_large',
        );
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

function notJson(apiUrl: string, what: string): CliError {
  return new CliError(
    `No Herald API at ${apiUrl}: ${what} answered with a body that is not valid JSON (check --api-url / HERALD_API_URL)`,
    'not_herald',
  );
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
  return new CliError(
    `Cannot reach the Herald API at ${apiUrl}: ${describeNetworkFailure(error)} (is it running?)`,
    'unreachable',
  );
}

/**
 * Why a request failed, from the error's code only: fetch's messages can repeat request data
 * (an invalid header's value: the API key), so they are never printed.
 */
export function describeNetworkFailure(error: unknown): string {
  const code = errorCode(error) ?? errorCode((error as { cause?: unknown } | undefined)?.cause);
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') return 'connection timed out';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection lost';
  return code ?? 'network error';
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  // Only codes that look like codes (ECONNRESET, UND_ERR_SOCKET, CERT_HAS_EXPIRED): nothing free-form.
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,63}$/.test(code) ? code : undefined;
}
