import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { errorResponse } from '../rest/error-response';

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/** Bodies `limitBody` read, by the request it rebuilt around them. */
const bufferedBodies = new WeakMap<Request, Uint8Array>();

/**
 * Only writes are inspected: touching `c.req.raw` makes @hono/node-server
 * build a full Request object, a cost reads should not pay. An empty body
 * (`Content-Length: 0`, or chunked with no chunk) is no body: `limitBody`
 * left such a request without one.
 */
function carriesBody(c: Context): boolean {
  return METHODS_WITH_BODY.has(c.req.method) && c.req.raw.body !== null;
}

/**
 * Refuses bodies over `maxBytes` with 413, by their Content-Length before
 * any of it is read, else once the stream passes the limit. A body within
 * the limit is read here, once, so later checks (JSON depth) see its bytes;
 * the request is rebuilt around them, or without a body when it was empty.
 */
export function limitBody(maxBytes: number) {
  return createMiddleware(async (c, next) => {
    const raw = c.req.raw;
    if (!METHODS_WITH_BODY.has(c.req.method) || raw.body === null) return next();
    const declared = c.req.header('content-length');
    if (declared !== undefined && c.req.header('transfer-encoding') === undefined && Number(declared) > maxBytes) {
      return tooLarge(c, maxBytes);
    }
    const bytes = await readAtMost(raw.body, maxBytes);
    if (bytes === null) return tooLarge(c, maxBytes);
    if (bytes.byteLength === 0) {
      c.req.raw = new Request(raw.url, { method: raw.method, headers: raw.headers, signal: raw.signal });
    } else {
      c.req.raw = new Request(raw, { body: bytes });
      bufferedBodies.set(c.req.raw, bytes);
    }
    return next();
  });
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

/** A request that carries a body must say it is JSON (415 otherwise). */
export function requireJsonBody() {
  return createMiddleware(async (c, next) => {
    if (carriesBody(c) && !JSON_TYPE.test(c.req.header('content-type') ?? '')) {
      return errorResponse(c, 'unsupported_media_type', 'Request bodies must be JSON (Content-Type: application/json)');
    }
    await next();
  });
}

/** Deepest JSON nesting Herald takes in any input (body, tRPC `input`); deeper answers 400. */
export const MAX_JSON_DEPTH = 32;

/**
 * Refuses JSON nested deeper than `maxDepth` with 400 `validation_error`,
 * before anything parses it: a body (as `limitBody` read it) or a tRPC GET's
 * `input` parameter. A tRPC batch wraps each input in one more object.
 */
export function limitJsonDepth(maxDepth = MAX_JSON_DEPTH) {
  return createMiddleware(async (c, next) => {
    const limit = maxDepth + (c.req.query('batch') === '1' ? 1 : 0);
    const bytes = bufferedBodies.get(c.req.raw);
    const texts = [bytes ? new TextDecoder().decode(bytes) : undefined, c.req.query('input')];
    if (texts.some((text) => text !== undefined && jsonDepthExceeds(text, limit))) {
      return errorResponse(c, 'validation_error', `JSON input may be nested at most ${maxDepth} levels deep`);
    }
    await next();
  });
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
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
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
