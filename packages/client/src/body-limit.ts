/**
 * The most a client reads of one answer by default (`maxResponseBytes`). A page of 100 events at the
 * API's default body limit (256 KB each) is about 26 MB; anything far beyond that is not Herald, and
 * reading it whole would take as much memory as the other side cares to send.
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/**
 * An answer longer than the cap it was read with: the read stopped there and the connection was closed.
 * It also has Herald's error shape (`error.error.code` is `response_too_large`), as every other error
 * the REST SDK throws with `throwOnError` is: a `catch` written for those reads this one the same way.
 */
export class ResponseTooLargeError extends Error {
  readonly error: { code: 'response_too_large'; message: string; details: { maxBytes: number } };

  constructor(readonly maxBytes: number) {
    const limit = maxBytes < 1024 * 1024 ? `${maxBytes} bytes` : `${Math.round(maxBytes / 1024 / 1024)} MB`;
    super(`the answer was larger than ${limit}`);
    this.name = 'ResponseTooLargeError';
    this.error = {
      code: 'response_too_large',
      message: `The API's answer was larger than ${limit} (maxResponseBytes), so it was not read`,
      details: { maxBytes },
    };
  }
}

/** Reads a body whole, or throws ResponseTooLargeError as soon as it passes `maxBytes` (and stops reading). */
export async function readBodyWithin(response: Response, maxBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  if (Number(response.headers.get('content-length')) > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw new ResponseTooLargeError(maxBytes);
  }
  if (!response.body) return new Uint8Array();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new ResponseTooLargeError(maxBytes);
    }
    chunks.push(value);
  }
  const whole = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    whole.set(chunk, at);
    at += chunk.byteLength;
  }
  return whole;
}

/** Statuses whose answers never carry a body (a Response built with one throws). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/** The answer read whole within `maxBytes` (or ResponseTooLargeError), as a Response holding it: status and headers kept. */
export async function readResponseWithin(response: Response, maxBytes: number): Promise<Response> {
  const body = await readBodyWithin(response, maxBytes);
  const whole = new Response(NULL_BODY_STATUSES.has(response.status) ? null : body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  // A Response made here has no URL of its own: callers that log `response.url` still see where it came from.
  Object.defineProperty(whole, 'url', { value: response.url });
  return whole;
}
