import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import { Agent } from 'undici';
import { headerNameProblem, headerValueProblem, isSenderHeader } from './headers';
import type { Resolver } from './ssrf';
import { createVettingLookup, SSRF_BLOCKED_CODE, vetUrl } from './ssrf';

export type ErrorClass = 'timeout' | 'connection' | 'dns' | 'ssrf_blocked' | 'tls' | 'http_status' | 'invalid_url';

export type AttemptResult = {
  /** 2xx only; a 3xx is a failure and its Location is never requested. */
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  errorClass: ErrorClass | null;
  errorMessage: string | null;
  /** At most maxResponseBytes bytes of the response, decoded as UTF-8. */
  responseBody: string | null;
  retryAfterSeconds: number | null;
};

export type WebhookRequest = { url: string; headers: Record<string, string>; body: string };

export type WebhookSenderOptions = {
  timeoutMs?: number;
  maxResponseBytes?: number;
  allowPrivateNetworks?: boolean;
  resolve?: Resolver;
  userAgent: string;
  /** Max sockets per origin; unlimited when omitted (concurrency is the caller's to bound). */
  connections?: number;
};

export type WebhookSender = {
  send(req: WebhookRequest): Promise<AttemptResult>;
  close(): Promise<void>;
};

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA', 'ENODATA', 'ESERVFAIL']);
const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);
const TLS_CODES = new Set([
  'EPROTO',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
]);
const CONNECTION_MESSAGES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed while sending',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_SOCKET: 'connection closed unexpectedly',
  UND_ERR_CLOSED: 'sender closed',
  UND_ERR_DESTROYED: 'sender closed',
};

/** Error codes, outermost first, through `cause` chains and happy-eyeballs AggregateErrors. */
function errorCodes(err: unknown, depth = 0): string[] {
  if (depth > 5 || typeof err !== 'object' || err === null) return [];
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  const own = typeof e.code === 'string' ? [e.code] : [];
  const nested = Array.isArray(e.errors) ? e.errors.flatMap((x) => errorCodes(x, depth + 1)) : [];
  return [...own, ...nested, ...errorCodes(e.cause, depth + 1)];
}

type Failure = { errorClass: ErrorClass; errorMessage: string };

// Messages stay generic: targets are tenant-controlled, so echoing peer-supplied text or
// low-level detail would let a tenant use us to fingerprint hosts and ports.
function classifyError(err: unknown, timedOut: boolean, timeoutMs: number): Failure {
  if (timedOut) return { errorClass: 'timeout', errorMessage: `timed out after ${timeoutMs} ms` };
  const codes = errorCodes(err);
  if (codes.includes(SSRF_BLOCKED_CODE)) {
    return {
      errorClass: 'ssrf_blocked',
      errorMessage: `destination refused: ${String(findReason(err) ?? 'not allowed')}`,
    };
  }
  const dns = codes.find((c) => DNS_CODES.has(c));
  if (dns) return { errorClass: 'dns', errorMessage: `DNS resolution failed (${dns})` };
  if (codes.some((c) => TIMEOUT_CODES.has(c))) {
    return { errorClass: 'timeout', errorMessage: `timed out after ${timeoutMs} ms` };
  }
  const tls = codes.find((c) => TLS_CODES.has(c) || c.startsWith('ERR_TLS_') || c.startsWith('ERR_SSL_'));
  if (tls) return { errorClass: 'tls', errorMessage: `TLS handshake failed (${tls})` };
  for (const c of codes) {
    const msg = CONNECTION_MESSAGES[c];
    if (msg) return { errorClass: 'connection', errorMessage: msg };
  }
  if (codes.some((c) => c.startsWith('HPE_')))
    return { errorClass: 'connection', errorMessage: 'invalid HTTP response' };
  return { errorClass: 'connection', errorMessage: 'request failed' };
}

function findReason(err: unknown, depth = 0): unknown {
  if (depth > 5 || typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; reason?: unknown; cause?: unknown; errors?: unknown };
  if (e.code === SSRF_BLOCKED_CODE) return e.reason;
  for (const inner of [e.cause, ...(Array.isArray(e.errors) ? e.errors : [])]) {
    const found = findReason(inner, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Retry-After is either delta-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | null {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!raw) return null;
  if (/^\d+$/.test(raw)) return Number(raw);
  // V8's Date.parse accepts almost anything ('-5', '1.5'); HTTP-dates all start with a day name.
  if (!/^(mon|tue|wed|thu|fri|sat|sun)[a-z]*,? /i.test(raw)) return null;
  // asctime dates carry no zone; HTTP-dates are always GMT, never the host's local time.
  const at = Date.parse(/\b(gmt|utc)\b/i.test(raw) ? raw : `${raw} GMT`);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

type Body = AsyncIterable<Buffer> & { destroy(err?: Error): unknown };

/** Reads at most `cap` bytes; destroys the stream beyond that so a huge body is never buffered. */
async function readCapped(body: Body, cap: number): Promise<string> {
  const decoder = new StringDecoder('utf8');
  let text = '';
  let taken = 0;
  for await (const chunk of body) {
    const room = cap - taken;
    const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
    taken += piece.length;
    text += decoder.write(piece);
    if (taken >= cap) {
      // Losing the socket is cheaper than draining an unbounded body; small bodies end first.
      body.destroy();
      break;
    }
  }
  // decoder.end() is skipped on purpose: a cut multi-byte sequence is dropped, not turned into U+FFFD.
  return text;
}

function failure(started: number, f: Failure, statusCode: number | null = null): AttemptResult {
  return {
    ok: false,
    statusCode,
    durationMs: Math.round(performance.now() - started),
    ...f,
    responseBody: null,
    retryAfterSeconds: null,
  };
}

export function createWebhookSender(opts: WebhookSenderOptions): WebhookSender {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const maxResponseBytes = opts.maxResponseBytes ?? 4096;
  const allowPrivateNetworks = opts.allowPrivateNetworks ?? false;
  const lookup = createVettingLookup({ allowPrivateNetworks, ...(opts.resolve ? { resolve: opts.resolve } : {}) });

  // undici 7 has no built-in redirect following (it lives in an interceptor we never compose),
  // so a 3xx surfaces as a plain response.
  const agent = new Agent({
    connect: { lookup, timeout: timeoutMs },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    ...(opts.connections !== undefined ? { connections: opts.connections } : {}),
  });

  async function send(req: WebhookRequest): Promise<AttemptResult> {
    const started = performance.now();
    if (!URL.canParse(req.url)) return failure(started, { errorClass: 'invalid_url', errorMessage: 'invalid URL' });
    const vetted = vetUrl(req.url, { allowPrivateNetworks });
    if (!vetted.ok)
      return failure(started, { errorClass: 'ssrf_blocked', errorMessage: `destination refused: ${vetted.reason}` });

    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      // The endpoints API's rule (./headers), checked again for values stored before it existed.
      const problem = headerNameProblem(name) ?? headerValueProblem(value);
      if (problem) {
        return failure(started, {
          errorClass: 'connection',
          errorMessage: `invalid request header ${JSON.stringify(name)}: ${problem}; not sent`,
        });
      }
      // Herald's own framing headers win; its signed webhook-* headers come from the caller.
      if (!isSenderHeader(name)) headers[name.toLowerCase()] = value;
    }
    headers['content-type'] = 'application/json';
    headers['user-agent'] = opts.userAgent;

    const controller = new AbortController();
    let timedOut = false;
    // One deadline for connect + headers + body; undici's own timeouts are per phase.
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    let statusCode: number | null = null;
    try {
      const res = await agent.request({
        origin: vetted.url.origin,
        path: `${vetted.url.pathname}${vetted.url.search}`,
        method: 'POST',
        headers,
        body: req.body,
        signal: controller.signal,
      });
      statusCode = res.statusCode;
      const retryAfterSeconds = parseRetryAfter(res.headers['retry-after']);
      const responseBody = await readCapped(res.body, maxResponseBytes);
      // undici returns a socket to the pool one setImmediate after the response ends; yielding
      // once lets a caller's next sequential send (FIFO per endpoint) reuse it instead of dialing.
      await new Promise((resolve) => setImmediate(resolve));
      const ok = statusCode >= 200 && statusCode < 300;
      return {
        ok,
        statusCode,
        durationMs: Math.round(performance.now() - started),
        errorClass: ok ? null : 'http_status',
        errorMessage: ok ? null : `HTTP ${statusCode}`,
        responseBody,
        retryAfterSeconds,
      };
    } catch (err) {
      return failure(started, classifyError(err, timedOut, timeoutMs), statusCode);
    } finally {
      clearTimeout(timer);
    }
  }

  let closing: Promise<void> | null = null;
  return {
    send,
    // Idempotent: shutdown paths commonly call close() more than once.
    close: () => (closing ??= agent.close()),
  };
}
