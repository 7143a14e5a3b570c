import { DEFAULT_MAX_RESPONSE_BYTES, readResponseWithin } from './body-limit';
import { deadline } from './deadline';

/** How long a call may take, answer body included, unless `timeoutMs` says otherwise. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** The longest delay a timer takes (2^31 − 1 ms, about 24.8 days): a longer one fires at once. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** What both clients take to reach the API. */
export interface TransportOptions {
  baseUrl: string;
  apiKey?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
  maxResponseBytes?: number;
}

/**
 * Refuses, when the client is made, what fetch would refuse at the first call with a message that
 * quotes it: a key with a line break or a URL with a password would otherwise end up in an error
 * message, and from there in the caller's logs.
 */
export function checkTransportOptions(options: TransportOptions): void {
  let url: URL;
  try {
    url = new URL(options.baseUrl);
  } catch {
    throw new TypeError('baseUrl is not a URL (for example http://localhost:3000)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('baseUrl must be an http(s) URL');
  if (url.username !== '' || url.password !== '') {
    throw new TypeError('baseUrl must not hold a user name or password: pass the API key as apiKey');
  }
  if (options.apiKey !== undefined && !/^[\x21-\x7e]+$/.test(options.apiKey)) {
    throw new TypeError('apiKey must be printable ASCII without spaces or line breaks (it is not shown here)');
  }
  const timeout = options.timeoutMs;
  if (timeout !== undefined && !(Number.isSafeInteger(timeout) && timeout >= 0 && timeout <= MAX_TIMEOUT_MS)) {
    throw new TypeError('timeoutMs must be a whole number of milliseconds up to 2147483647 (24.8 days), 0 for none');
  }
  const cap = options.maxResponseBytes;
  if (cap !== undefined && !(Number.isSafeInteger(cap) && cap >= 0)) {
    throw new TypeError('maxResponseBytes must be a whole number of bytes, 0 for no limit');
  }
}

/**
 * The fetch both clients call: redirects are not followed (a 3xx would otherwise re-send the call,
 * body and all, to wherever it points, or turn a POST into a GET that "succeeds"), and a call that
 * gets no whole answer within the timeout, or an answer over `maxResponseBytes`, fails (not a stream
 * asked for as `text/event-stream`). The answer is read here, under the deadline, and handed on whole.
 */
export function guardedFetch(options: TransportOptions): typeof fetch {
  const fetchImpl = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  return async (input, init) => {
    const signals = [init?.signal ?? (input instanceof Request ? input.signal : undefined)].filter(
      (signal): signal is AbortSignal => signal != null,
    );
    // A stream (SSE) is meant to last: only the caller's signal ends it.
    const accept = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined)).get('accept');
    const stream = accept?.includes('text/event-stream') ?? false;
    const timer = timeoutMs > 0 && !stream ? deadline(timeoutMs) : undefined;
    if (timer) signals.push(timer.signal);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    const response = await fetchImpl(input, { ...init, redirect: 'manual', ...(signal ? { signal } : {}) });
    // Handed on as they came: a redirect (its Location is resolved against its URL), a stream asked
    // for, and any body when uncapped. A stream nobody asked for is read as any answer, within the cap
    // and the deadline: handed on, both clients read it whole, without end (8 GB in a hostile review).
    if (stream || maxBytes === 0 || isRedirect(response) || !response.body) return response;
    try {
      return await readResponseWithin(response, maxBytes);
    } finally {
      timer?.clear();
    }
  };
}

/** Whether an answer is a redirect: Node hands it over as it came, a browser as an opaque one. */
export function isRedirect(response: Response): boolean {
  return (response.status >= 300 && response.status < 400) || response.type === 'opaqueredirect';
}

/** Where a redirect points, without what could be a secret (user name, password, query). */
export function redirectTarget(response: Response): string {
  const location = response.headers.get('location');
  if (location === null) return 'no Location';
  try {
    const url = new URL(location, response.url || undefined);
    return `${url.origin}${url.pathname}`;
  } catch {
    return 'an unreadable Location';
  }
}

/** The message for an answer that is a redirect: the clients never follow one. */
export function redirectMessage(response: Response): string {
  return `HTTP ${response.status} from the API, a redirect to ${redirectTarget(response)}, was not followed: is baseUrl the API's own address?`;
}
