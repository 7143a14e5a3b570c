import { DEFAULT_MAX_RESPONSE_BYTES, readBodyWithin, readResponseWithin } from '@herald/client';

/** The most the CLI reads of one API answer: the client's default (a page of 100 events is about 26 MB). */
export const MAX_API_RESPONSE_BYTES = DEFAULT_MAX_RESPONSE_BYTES;

export function formatMegabytes(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MB`;
}

/** A body parsed as JSON, or null when it is not JSON, cannot be read, or passes `maxBytes`. */
export async function readJsonWithin(response: Response, maxBytes: number): Promise<unknown> {
  try {
    return JSON.parse(new TextDecoder().decode(await readBodyWithin(response, maxBytes)));
  } catch {
    return null;
  }
}

/** The statuses that send a request elsewhere (300 and 304 do not). */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * The API answered with a redirect, which the CLI does not follow: a 301, 302 or 303 turns a POST into a
 * GET without its body, and one to another host drops the API key, so the route then fails and the key
 * takes the blame. `location` is where it points, resolved, without a user name or password; null when
 * missing or not a URL.
 */
export class ApiRedirectError extends Error {
  constructor(
    readonly status: number,
    readonly location: URL | null,
  ) {
    super(`the API answered a redirect (HTTP ${status})`);
    this.name = 'ApiRedirectError';
  }
}

/**
 * `fetch` that reads each answer whole within MAX_API_RESPONSE_BYTES (for the REST SDK, which reads them
 * whole anyway), and throws ApiRedirectError for a redirect instead of following it.
 */
export const fetchWithinLimit: typeof fetch = async (input, init) => {
  const response = await fetch(input, { ...init, redirect: 'manual' });
  if (REDIRECT_STATUSES.has(response.status)) {
    await response.body?.cancel().catch(() => {});
    const requestUrl = input instanceof Request ? input.url : String(input);
    throw new ApiRedirectError(response.status, redirectTarget(response.headers.get('location'), requestUrl));
  }
  return readResponseWithin(response, MAX_API_RESPONSE_BYTES);
};

function redirectTarget(location: string | null, requestUrl: string): URL | null {
  if (!location) return null;
  try {
    const url = new URL(location, requestUrl);
    url.username = '';
    url.password = '';
    return url;
  } catch {
    return null;
  }
}

/**
 * The first `maxBytes` of a body as text, then the body is cancelled (its connection closed): a local
 * receiver that streams forever costs nothing beyond that. As the dispatcher keeps a response excerpt:
 * invalid UTF-8 becomes U+FFFD, and a character the cut leaves incomplete is dropped.
 */
export async function readExcerpt(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  let text = '';
  let taken = 0;
  try {
    while (taken < maxBytes) {
      const { value, done } = await reader.read();
      if (done) return text + decoder.decode();
      const piece = value.subarray(0, maxBytes - taken);
      taken += piece.byteLength;
      text += decoder.decode(piece, { stream: true });
    }
    return text;
  } finally {
    await reader.cancel().catch(() => {});
  }
}
