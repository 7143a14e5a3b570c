import { createHeraldRestClient, ResponseTooLargeError, timeoutSignal } from '@herald/client';
import type { CliConfig } from './config';
import { CliError, type ErrorDetails } from './errors';
import { ApiRedirectError, fetchWithinLimit, formatMegabytes } from './http-body';

export type RestClient = ReturnType<typeof createHeraldRestClient>;

/** A REST SDK call's answer (`@herald/client/sdk` functions without `throwOnError`). */
type SdkResult<T> =
  | { data?: T; error?: unknown; response?: Response }
  | { data: T; error: undefined; response: Response };

/**
 * What one SDK request really met, kept by the CLI's fetch: the REST client turns a failed fetch into
 * a `network_error` body and an answer that is not Herald's into an `invalid_response` 502, and the
 * CLI's one-line errors need what lies under those (a timeout, a too-large answer, the real status).
 */
interface Exchange {
  /** Status and headers, without the body. */
  response?: Response;
  error?: unknown;
}

export interface Api {
  config: CliConfig;
  /** The generated REST SDK's client: pass as `client` to `@herald/client/sdk` functions. */
  client: RestClient;
  /**
   * Awaits an SDK call and returns its data, or throws a one-line CliError for every failure. A call
   * aborted by its own `signal` option rejects with that AbortError as it is.
   */
  call<T>(what: string, result: Promise<SdkResult<T>>): Promise<T>;
  /** `call` for a list route: also checks that its `data` is a list of objects with ids. */
  list<T extends ListPage>(what: string, result: Promise<SdkResult<T>>): Promise<T>;
  /**
   * `fetch` against the API with the key (routes the SDK has no function for), within the request
   * deadline; `{ stream: true }` for the listen stream, which stays open and has its own watchdog.
   */
  fetch(path: string, init?: RequestInit, options?: { stream?: boolean }): Promise<Response>;
}

/** What every list route answers: a page of objects with ids, and the cursor of the next page. */
interface ListPage {
  data: { id: string }[];
  nextCursor?: string | null;
}

export function createApi(config: CliConfig): Api {
  // One deadline per request, the answer's body included (fetchWithinLimit reads it under the same signal).
  // timeoutSignal, not AbortSignal.timeout: inside AbortSignal.any, Node 20 can collect the latter unfired.
  const withDeadline = (signal: AbortSignal | null | undefined) => {
    const deadline = timeoutSignal(config.requestTimeoutMs);
    return signal ? AbortSignal.any([signal, deadline]) : deadline;
  };
  const exchanges = new WeakMap<Request, Exchange>();
  // The SDK hands fetch a Request (the one its result returns); its signal is the call's `signal` option
  // (or one that never aborts).
  const sdkFetch: typeof fetch = async (input, init) => {
    const request = input instanceof Request ? input : undefined;
    try {
      const response = await fetchWithinLimit(input, {
        ...init,
        signal: withDeadline(init?.signal ?? request?.signal),
      });
      // Its status and headers only (the body may be 64 MB, and the client reads it anyway).
      const { status, statusText, headers } = response;
      if (request) exchanges.set(request, { response: new Response(null, { status, statusText, headers }) });
      return response;
    } catch (error) {
      if (request) exchanges.set(request, { error });
      throw error;
    }
  };
  // Its own deadline (`requestTimeoutMs`, in sdkFetch) rather than the client's.
  const client = createHeraldRestClient({
    baseUrl: config.apiUrl,
    apiKey: config.apiKey,
    fetch: sdkFetch,
    timeoutMs: 0,
    // sdkFetch has read the answer whole within MAX_API_RESPONSE_BYTES already.
    maxResponseBytes: 0,
  });
  const failed = (what: string, error: unknown): Error => {
    if (isAbort(error)) return error as Error;
    if (isTimeout(error)) return new CliError(`${what} failed: ${noAnswerWithin(config)}`, 'timeout');
    return networkError(config.apiUrl, error);
  };
  const call: Api['call'] = async (what, pending) => {
    let result: SdkResult<unknown>;
    try {
      result = await pending;
    } catch (error) {
      // The SDK parses a 2xx answer's JSON after fetch resolved: a SyntaxError is the body, not the network.
      if (error instanceof SyntaxError) throw notJson(config.apiUrl, what);
      throw failed(what, error);
    }
    // Every SDK result carries the Request it sent (left out of SdkResult: it would spoil T's inference).
    const request = (result as { request?: Request }).request;
    const exchange = request ? exchanges.get(request) : undefined;
    const fetchError = exchange?.error ?? (result.response ? undefined : result.error);
    if (fetchError instanceof ResponseTooLargeError) {
      const limit = formatMegabytes(fetchError.maxBytes);
      throw new CliError(
        `${what} failed: the answer from ${config.apiUrl} was larger than ${limit}`,
        'response_too_large',
      );
    }
    if (fetchError instanceof ApiRedirectError) throw redirected(config.apiUrl, what, fetchError, request);
    if (fetchError !== undefined || !result.response) throw failed(what, fetchError);
    // The server's own answer, not the client's rewrite of one that was not Herald's.
    const response = exchange?.response ?? result.response;
    if (response.ok && (result.error !== undefined || !result.response.ok)) {
      // A 2xx the client refused: its body was not JSON.
      throw isJson(response) ? notJson(config.apiUrl, what) : notHerald(config.apiUrl, what, response.status);
    }
    if (result.error !== undefined || !response.ok) throw apiError(config.apiUrl, what, response, result.error);
    // A 2xx that is not Herald's JSON (a web server, a proxy page) is a wrong URL, not data.
    if (!isHeraldAnswer(response) || result.data === undefined || typeof result.data !== 'object') {
      throw notHerald(config.apiUrl, what, response.status);
    }
    return result.data as never;
  };
  return {
    config,
    client,
    call,
    async list(what, pending) {
      const page = await call(what, pending);
      if (!isListPage(page)) throw unexpectedAnswer(config.apiUrl, what);
      return page;
    },
    async fetch(path, init = {}, { stream = false } = {}) {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${config.apiKey}`);
      const signal = stream ? init.signal : withDeadline(init.signal);
      try {
        return await fetch(`${config.apiUrl}${path}`, { ...init, headers, redirect: 'manual', signal });
      } catch (error) {
        if (init.signal?.aborted) throw error;
        if (isTimeout(error)) throw new CliError(noAnswerWithin(config), 'timeout');
        throw networkError(config.apiUrl, error);
      }
    },
  };
}

function isListPage(value: unknown): value is ListPage {
  const { data, nextCursor } = value as { data?: unknown; nextCursor?: unknown };
  return (
    Array.isArray(data) &&
    data.every((item) => !!item && typeof item === 'object' && typeof (item as { id?: unknown }).id === 'string') &&
    (nextCursor === undefined || nextCursor === null || typeof nextCursor === 'string')
  );
}

const isAbort = (error: unknown) => (error as { name?: unknown } | undefined)?.name === 'AbortError';
const isTimeout = (error: unknown) => (error as { name?: unknown } | undefined)?.name === 'TimeoutError';

function noAnswerWithin(config: CliConfig): string {
  return `no complete answer from ${config.apiUrl} within ${config.requestTimeoutMs / 1000} s (--request-timeout)`;
}

/** A 2xx from Herald whose JSON is not what the route answers (a broken or hostile server, a wrong version). */
export function unexpectedAnswer(apiUrl: string, what: string): CliError {
  return new CliError(`${what} failed: unexpected answer from the API at ${apiUrl}`, 'unexpected_answer');
}

/**
 * A list whose cursor came back to a page already read: following it would send requests forever.
 * Herald's cursors always move forward.
 */
export function cursorDidNotAdvance(apiUrl: string, what: string): CliError {
  return new CliError(
    `${what} failed: the API at ${apiUrl} answered a page it had already sent (its cursor did not advance)`,
    'cursor_loop',
  );
}

/** The longest redirect target an error line shows: the Location header is the server's text. */
const MAX_SHOWN_URL_CHARS = 200;

/**
 * A redirect the CLI did not follow, as one line saying where to point --api-url instead: the Location
 * without the request's own path (what is left is the API URL it moved to), visible ASCII only, bounded.
 */
function redirected(apiUrl: string, what: string, error: ApiRedirectError, request: Request | undefined): CliError {
  if (!error.location) {
    return new CliError(
      `${what} failed: the API URL ${apiUrl} redirects (HTTP ${error.status}) without saying where; check --api-url / HERALD_API_URL`,
      'api_redirect',
    );
  }
  let target = error.location.href;
  const route = request?.url.startsWith(apiUrl) ? request.url.slice(apiUrl.length) : '';
  if (route && target.endsWith(route) && target.length > route.length) target = target.slice(0, -route.length);
  target = target.replace(/[^\x21-\x7e]/g, '?');
  if (target.length > MAX_SHOWN_URL_CHARS) target = `${target.slice(0, MAX_SHOWN_URL_CHARS)}…`;
  return new CliError(
    `${what} failed: the API URL ${apiUrl} redirects to ${target}; use that (--api-url / HERALD_API_URL)`,
    'api_redirect',
  );
}

/** A list whose cursor still pointed further after far more pages than any project has: a broken server. */
export function cursorDidNotEnd(apiUrl: string, what: string, pages: number, items: number): CliError {
  return new CliError(
    `${what} failed: the API at ${apiUrl} sent ${pages} pages (${items} items) and its cursor still did not end`,
    'cursor_loop',
  );
}

/** Every Herald answer carries X-Request-Id; a server that does not is something else at this URL. */
function isHeraldAnswer(response: Response): boolean {
  return response.headers.has('x-request-id') && isJson(response);
}

const isJson = (response: Response) => (response.headers.get('content-type') ?? '').includes('json');

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

/** The longest text an error line takes from the API's message, and from its details: the server's text. */
const MAX_SHOWN_MESSAGE_CHARS = 300;
const MAX_SHOWN_DETAILS_CHARS = 500;
/** Validation issues (or detail fields) kept at most, each path or value at most this long (Herald sends ≤ 20). */
const MAX_DETAILS = 20;
const MAX_DETAIL_CHARS = 200;

/**
 * A refused answer: Herald's `{ error: { code, message, details? } }` in one line; 401 says what to
 * check. A validation error's issues follow as `path: message; …` (bounded: the text is the server's).
 */
export function apiError(apiUrl: string, what: string, response: Response, body: unknown): CliError {
  const herald = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  if (!isHeraldAnswer(response) || typeof herald?.code !== 'string') {
    return notHerald(apiUrl, what, response.status);
  }
  if (response.status === 401) {
    return new CliError(
      `The API key was refused (401 unauthorized) by ${apiUrl}: check --api-key / HERALD_API_KEY`,
      'unauthorized',
    );
  }
  const code = bounded(herald.code, MAX_DETAIL_CHARS);
  const message = bounded(
    typeof herald.message === 'string' && herald.message ? herald.message : code,
    MAX_SHOWN_MESSAGE_CHARS,
  );
  const details = errorDetails(herald.details);
  // An issue that only repeats the message (Herald's "URL refused: …" names its one field already) adds nothing.
  const repeated = bounded(typeof herald.message === 'string' ? herald.message : '', MAX_DETAIL_CHARS);
  const issues = Array.isArray(details)
    ? details.filter((issue) => issue.message !== repeated).map((i) => (i.path ? `${i.path}: ${i.message}` : i.message))
    : [];
  const said = issues.length > 0 ? `: ${bounded(issues.join('; '), MAX_SHOWN_DETAILS_CHARS)}` : '';
  return new CliError(`${what} failed: ${message} (${response.status} ${code})${said}`, code, 1, details);
}

/**
 * An error's `details` as the CLI keeps them: a list of `{ path, message }` issues (Herald's
 * validation errors), or an object's string, number and boolean fields (`{ reason }`); bounded in
 * count and length, anything else dropped.
 */
export function errorDetails(details: unknown): ErrorDetails | undefined {
  if (Array.isArray(details)) {
    const issues = details.slice(0, MAX_DETAILS).flatMap((issue) => {
      const { path, message } = (issue ?? {}) as { path?: unknown; message?: unknown };
      if (typeof message !== 'string' || message === '') return [];
      return [{ path: bounded(issuePath(path), MAX_DETAIL_CHARS), message: bounded(message, MAX_DETAIL_CHARS) }];
    });
    return issues.length > 0 ? issues : undefined;
  }
  if (!details || typeof details !== 'object') return undefined;
  const fields = Object.entries(details)
    .filter((entry): entry is [string, string | number | boolean] =>
      ['string', 'number', 'boolean'].includes(typeof entry[1]),
    )
    .slice(0, MAX_DETAILS)
    .map(([key, value]) => [
      bounded(key, MAX_DETAIL_CHARS),
      typeof value === 'string' ? bounded(value, MAX_DETAIL_CHARS) : value,
    ]);
  return fields.length > 0 ? Object.fromEntries(fields) : undefined;
}

/** Herald sends a dotted path (`headers.x-a`); a zod-style list of keys is joined the same way. */
function issuePath(path: unknown): string {
  if (typeof path === 'string') return path;
  if (Array.isArray(path) && path.every((key) => typeof key === 'string' || typeof key === 'number')) {
    return path.slice(0, MAX_DETAILS).join('.');
  }
  return '';
}

/** `text` cut to `max` characters and an ellipsis when longer (never half a surrogate pair). */
function bounded(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  return `${/[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut}…`;
}

/** The server could not be reached, or what answered is not an HTTP(S) server at all. */
export function networkError(apiUrl: string, error: unknown): CliError {
  const failure = networkFailure(error);
  return new CliError(`Cannot reach the Herald API at ${apiUrl}: ${failure.line}`, 'unreachable');
}

/**
 * Why a request failed, from the error's code only: fetch's messages can repeat request data
 * (an invalid header's value: the API key), so they are never printed.
 */
export function describeNetworkFailure(error: unknown): string {
  return networkFailure(error).short;
}

/**
 * A failed request's cause, `short` (inside another sentence: "the stream broke (…)") and as the
 * `line` that ends an error line with what to check. Something that answered, but not as HTTP or not
 * with the TLS expected, is a wrong --api-url (http:// for https://, another service's port), not a
 * server that is down.
 */
function networkFailure(error: unknown): { short: string; line: string } {
  const code = errorCode(error) ?? errorCode((error as { cause?: unknown } | undefined)?.cause);
  const down = (short: string) => ({ short, line: `${short} (is it running?)` });
  if (code === 'ECONNREFUSED') return down('connection refused');
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return down('host not found');
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') return down('connection timed out');
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return down('connection lost');
  if (code === undefined) return down('network error');
  if (code.startsWith('HPE_')) {
    return {
      short: `not an HTTP answer: ${code}`,
      line: `it did not answer as an HTTP server (${code}): check --api-url`,
    };
  }
  if (isCertificateError(code)) {
    return {
      short: `TLS certificate refused: ${code}`,
      line: `TLS failed, the server's certificate was refused (${code}): check the host name in --api-url`,
    };
  }
  if (code === 'EPROTO' || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) {
    return { short: `TLS failed: ${code}`, line: `TLS failed (${code}): check http:// vs https:// in --api-url` };
  }
  return down(code);
}

/** OpenSSL's certificate verification codes, as Node reports them, and Node's own host name check. */
function isCertificateError(code: string): boolean {
  return (
    /^(CERT_|UNABLE_TO_|ERR_TLS_CERT_)/.test(code) ||
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'HOSTNAME_MISMATCH', 'INVALID_CA'].includes(code)
  );
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  // Only codes that look like codes (ECONNRESET, UND_ERR_SOCKET, CERT_HAS_EXPIRED): nothing free-form.
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,63}$/.test(code) ? code : undefined;
}
