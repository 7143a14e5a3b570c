import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { errorResponse } from '../rest/error-response';

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/** Bodies `readBodyWithin` read (empty: the request had none), by the request they came with. */
const bufferedBodies = new WeakMap<Request, Uint8Array>();

/** Requests rebuilt around their buffered body (`requestWithBody`), by the request they came with. */
const rebuiltRequests = new WeakMap<Request, Request>();

/**
 * Only writes are inspected: touching `c.req.raw` makes @hono/node-server
 * build a full Request object, a cost reads should not pay. An empty body
 * (`Content-Length: 0`, or chunked with no chunk) is no body.
 */
function carriesBody(c: Context): boolean {
  if (!METHODS_WITH_BODY.has(c.req.method)) return false;
  const buffered = bufferedBodies.get(c.req.raw);
  return buffered ? buffered.byteLength > 0 : c.req.raw.body !== null;
}

/** The socket's request, when the app is served by @hono/node-server (none for in-process `app.request`). */
function incomingOf(c: Context): IncomingMessage | undefined {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
}

/**
 * Refuses bodies over `maxBytes` with 413, by their Content-Length before
 * any of it is read, else once the stream passes the limit. A body within
 * the limit is read here, once, so later checks (JSON depth) see its bytes.
 * Handlers read it through Hono (`c.req.text()`, `c.req.json()`, filled in
 * here) or `requestWithBody(c)`; `c.req.raw`'s own body is used up.
 *
 * Served by @hono/node-server, a body with a Content-Length (or none at all)
 * is read straight from the socket: Node's parser ends it at that length, so
 * it cannot pass the limit, and no WHATWG Request, web stream or AbortSignal
 * is made for it (10–15 % of the API's CPU on `POST /v1/users`). A chunked
 * body is read as a stream and cut off once it passes the limit.
 */
export async function readBodyWithin(c: Context, maxBytes: number): Promise<Response | undefined> {
  if (!METHODS_WITH_BODY.has(c.req.method)) return undefined;
  const raw = c.req.raw;
  const declared = c.req.header('content-length');
  const chunked = c.req.header('transfer-encoding') !== undefined;
  if (declared !== undefined && !chunked && Number(declared) > maxBytes) return tooLarge(c, maxBytes);
  let bytes: Uint8Array | null;
  try {
    // HTTP/1 only: there a body without Transfer-Encoding ends at its Content-Length, or is empty.
    if (incomingOf(c)?.httpVersionMajor === 1 && !chunked) {
      bytes = new Uint8Array(await raw.arrayBuffer());
    } else {
      if (raw.body === null) return undefined;
      bytes = await readAtMost(raw.body, maxBytes);
      if (bytes === null) return tooLarge(c, maxBytes);
    }
  } catch (error) {
    // The client closed or reset the connection mid-body (or the server's request timeout did):
    // its error (`ECONNRESET`, "aborted") is not the database's, and nobody is left to answer.
    // Logged as the request's line (499), not as "database unavailable" with a 503.
    if (!isBrokenOffBody(error)) throw error;
    return errorResponse(c, 'client_closed_request', 'The request body broke off before it was complete');
  }
  bufferedBodies.set(raw, bytes);
  // What `c.req.text()` and `c.req.json()` answer from now on. Hono keeps promises in its body
  // cache (its type says values); every REST write reads its input through it.
  (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(decodeUtf8(raw, bytes));
  return undefined;
}

/** Requests whose body is not UTF-8 (read as text with U+FFFD in place of each bad sequence). */
const notUtf8 = new WeakSet<Request>();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');

function decodeUtf8(raw: Request, bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    notUtf8.add(raw);
    return lenientUtf8.decode(bytes);
  }
}

/**
 * A JSON body must be UTF-8 (RFC 8259): 400 `invalid_json` otherwise. Decoded leniently, each bad
 * byte became U+FFFD and was stored, in events and webhooks too, with no word to the client.
 */
export function refuseInvalidUtf8(c: Context): Response | undefined {
  if (!METHODS_WITH_BODY.has(c.req.method) || !notUtf8.has(c.req.raw)) return undefined;
  return errorResponse(c, 'invalid_json', 'The request body is not valid UTF-8');
}

/**
 * The request with the body `readBodyWithin` read, for a handler that takes a whole
 * Request (tRPC's fetch adapter): `c.req.raw` itself when nothing was read,
 * else a copy around the bytes (without a body when it was empty), made once.
 */
export function requestWithBody(c: Context): Request {
  const raw = c.req.raw;
  const bytes = bufferedBodies.get(raw);
  if (!bytes) return raw;
  let rebuilt = rebuiltRequests.get(raw);
  if (!rebuilt) {
    const body = bytes.byteLength > 0 ? bytes : null;
    rebuilt = new Request(raw.url, { method: raw.method, headers: raw.headers, body, signal: raw.signal });
    rebuiltRequests.set(raw, rebuilt);
  }
  return rebuilt;
}

function tooLarge(c: Context, maxBytes: number) {
  return errorResponse(c, 'payload_too_large', `Request bodies are limited to ${maxBytes} bytes`);
}

/** The whole stream, or null once it passes `maxBytes` (the rest is left unread, and the stream unlocked). */
async function readAtMost(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<Uint8Array | null> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) return null;
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  if (chunks.length === 1) return chunks[0]!;
  const whole = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    whole.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return whole;
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;.*)?$/i;

/** A `charset` parameter other than UTF-8's (`utf8` and `us-ascii`, a subset, are UTF-8 too). */
const OTHER_CHARSET = /;\s*charset\s*=\s*(?!"?(?:utf-?8|us-ascii)"?\s*(?:;|$))/i;

/** A request that carries a body must say it is JSON, in UTF-8 if it names a charset (415 otherwise). */
export function refuseNonJsonBody(c: Context): Response | undefined {
  if (!carriesBody(c)) return undefined;
  const type = c.req.header('content-type') ?? '';
  if (!JSON_TYPE.test(type) || OTHER_CHARSET.test(type)) {
    return errorResponse(
      c,
      'unsupported_media_type',
      'Request bodies must be JSON in UTF-8 (Content-Type: application/json)',
    );
  }
  // A compressed body is bytes Herald does not decode (RFC 7694: 415): it read as JSON that is not UTF-8.
  const encoding = c.req.header('content-encoding')?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') {
    c.header('accept-encoding', 'identity'); // what it takes (RFC 9110 §12.5.3)
    return errorResponse(
      c,
      'unsupported_media_type',
      'Compressed request bodies are not taken (Content-Encoding): send the JSON uncompressed',
    );
  }
  return undefined;
}

/** Deepest JSON nesting Herald takes in any input (body, tRPC `input`); deeper answers 400. */
export const MAX_JSON_DEPTH = 32;

/**
 * Refuses JSON nested deeper than `maxDepth` with 400 `validation_error`,
 * before anything parses it: a body (as `readBodyWithin` read it) or a tRPC GET's
 * `input` parameter. A tRPC batch wraps each input in one more object.
 */
export async function refuseDeepJson(c: Context, maxDepth = MAX_JSON_DEPTH): Promise<Response | undefined> {
  const bytes = bufferedBodies.get(c.req.raw);
  const hasBody = bytes !== undefined && bytes.byteLength > 0;
  // Most reads have neither a body nor a query string: nothing to parse.
  if (!hasBody && !c.req.url.includes('?')) return undefined;
  // The query as tRPC reads it (`URLSearchParams`): Hono's reader leaves a value with an invalid
  // escape (`%FF`) undecoded, so an encoded deep `input` passed here and reached tRPC decoded.
  const query = c.req.url.includes('?') ? new URL(c.req.url).searchParams : undefined;
  const limit = maxDepth + (query?.get('batch') === '1' ? 1 : 0);
  const texts = [hasBody ? await c.req.text() : undefined, query?.get('input') ?? undefined];
  if (texts.some((text) => text !== undefined && jsonDepthExceeds(text, limit))) {
    return errorResponse(c, 'validation_error', `JSON input may be nested at most ${maxDepth} levels deep`);
  }
  return undefined;
}

/**
 * True if JSON `text` nests arrays and objects deeper than `limit`. A scan
 * of the raw text with a counter, not a parse: no recursion to overflow.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === BACKSLASH) i++;
      else if (ch === QUOTE) inString = false;
    } else if (ch === QUOTE) {
      inString = true;
    } else if (ch === OPEN_BRACE || ch === OPEN_BRACKET) {
      depth++;
      if (depth > limit) return true;
    } else if (ch === CLOSE_BRACE || ch === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

export interface SettleBodyOptions {
  /** Most bytes read and discarded to keep the connection (more: `Connection: close`). */
  maxBytes: number;
  /** Longest wait for the rest of the body. */
  maxMs: number;
}

/**
 * An answer given before the body was read (413, 415, 429, 401 …) leaves
 * the rest of the body on the socket: the next request on that keep-alive
 * connection would be parsed from it, or (as @hono/node-server gives up
 * draining a body that a web stream holds after 500 ms) be cut off. So the
 * rest is read and discarded before the answer goes out, within bounds;
 * past them the answer says `Connection: close` and Node closes the socket
 * after it. Without a socket (in-process `app.request`) there is nothing to do.
 */
export function settleUnreadBody(options: SettleBodyOptions = { maxBytes: 4 * 1024 * 1024, maxMs: 2_000 }) {
  return createMiddleware(async (c, next) => {
    const original = c.req.raw;
    await next();
    const incoming = incomingOf(c);
    if (!incoming || incoming.readableEnded || incoming.destroyed || c.req.method === 'GET') return;
    const declared = Number(c.req.header('content-length') ?? 0);
    const body = original.body;
    const settled = declared <= options.maxBytes && body !== null && !body.locked && (await discard(body, options));
    if (!settled) c.header('Connection', 'close');
  });
}

/** Reads the stream to its end; false if it runs past the bounds (then left as it is). */
async function discard(body: ReadableStream<Uint8Array>, { maxBytes, maxMs }: SettleBodyOptions): Promise<boolean> {
  const reader = body.getReader();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), maxMs);
  });
  let seen = 0;
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), timeout]);
      if (next === 'timeout') return false;
      if (next.done) return true;
      seen += next.value.byteLength;
      if (seen > maxBytes) return false;
    }
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** The errors a request body's read ends with when its connection goes: anything else is a bug, thrown on. */
function isBrokenOffBody(error: unknown): boolean {
  const { code, name, message } = (error ?? {}) as { code?: unknown; name?: unknown; message?: unknown };
  return (
    code === 'ECONNRESET' ||
    code === 'ERR_STREAM_PREMATURE_CLOSE' ||
    code === 'ABORT_ERR' ||
    name === 'AbortError' ||
    message === 'aborted'
  );
}
