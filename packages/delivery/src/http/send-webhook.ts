import { performance } from 'node:perf_hooks';
import { Agent } from 'undici';
import { ANSWER_TOO_LARGE_CODE, answerBudget, budgetedConnector } from './answer-budget';
import { withoutSentSecrets } from './answer-redaction';
import { exchange, NotSentInTime } from './exchange';
import { headerNameProblem, headerValueProblem, isSenderHeader } from './headers';
import type { Resolver } from './ssrf';
import { createVettingLookup, SSRF_BLOCKED_CODE, vetUrl } from './ssrf';

/**
 * `ssrf_blocked` covers every refused or unresolvable destination; `dns` is no longer produced
 * (see DESTINATION_REFUSED) and stays in the union for attempts recorded before.
 */
export type ErrorClass = 'timeout' | 'connection' | 'dns' | 'ssrf_blocked' | 'tls' | 'http_status' | 'invalid_url';

/**
 * The one tenant-visible message for a destination that is refused (private, loopback, metadata…,
 * by URL or after resolution) or does not resolve at all. The tenant chooses the hostname but the
 * lookup runs in the dispatcher's network: telling "resolves to a loopback address" from "does not
 * resolve" would let a tenant map internal names through attempt logs. The reason goes to
 * `onRefused`, i.e. the operator's log, only.
 */
export const DESTINATION_REFUSED = 'destination refused';

export type AttemptResult = {
  /** 2xx only; a 3xx is a failure and its Location is never requested. */
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  errorClass: ErrorClass | null;
  errorMessage: string | null;
  /**
   * The response's first maxResponseBytes bytes as storable text: decoded as UTF-8 with U+FFFD for
   * invalid bytes (a sequence cut by the cap is dropped), NUL replaced by U+FFFD, and never more
   * than maxResponseBytes bytes of UTF-8 itself.
   */
  responseBody: string | null;
  retryAfterSeconds: number | null;
};

export type WebhookRequest = {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** Opaque to the sender; handed back to `onRefused` (e.g. delivery and endpoint ids for the log). */
  context?: Readonly<Record<string, unknown>>;
  /**
   * `performance.now()` time by which the request must begin (its lookup and connect included in
   * the timeout that follows): later, nothing is written and `send` rejects with `NotSentInTime`.
   * No deadline when omitted.
   */
  startBy?: number;
};

/** A refused or unresolvable destination, with the reason the tenant is not told. */
export type DestinationRefusal = {
  /** e.g. 'loopback address', 'private network (RFC 1918)', 'DNS lookup failed (ENOTFOUND)'. */
  reason: string;
  url: string;
  context: WebhookRequest['context'];
};

export type WebhookSenderOptions = {
  timeoutMs?: number;
  maxResponseBytes?: number;
  allowPrivateNetworks?: boolean;
  resolve?: Resolver;
  userAgent: string;
  /** Max sockets per origin; unlimited when omitted (concurrency is the caller's to bound). */
  connections?: number;
  /**
   * Called for every attempt that fails with DESTINATION_REFUSED, for the operator's log. Must not
   * throw (an exception is swallowed); the URL is the tenant's and may carry credentials in its query.
   */
  onRefused?: (refusal: DestinationRefusal) => void;
};

export type WebhookSender = {
  /** Never rejects, except with `NotSentInTime` (see `WebhookRequest.startBy`): nothing was sent. */
  send(req: WebhookRequest): Promise<AttemptResult>;
  close(): Promise<void>;
};

// getaddrinfo's (EAI_*) and c-ares' (dns-resolver.ts) failures.
const DNS_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'EAI_NODATA',
  'ENODATA',
  'ESERVFAIL',
  'ETIMEOUT',
  'EREFUSED',
  'EBADRESP',
  'ENONAME',
  'EBADNAME',
]);
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
  UND_ERR_HEADERS_OVERFLOW: 'invalid HTTP response (headers too large)',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'invalid HTTP response (body shorter or longer than its Content-Length)',
  HERALD_TOO_MANY_INTERIM_RESPONSES: 'invalid HTTP response (too many interim 1xx responses)',
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
/** A failure whose `refusal` (operator-only reason) says it is a refused destination. */
type Classified = Failure & { refusal?: string };

const refused = (reason: string): Classified => ({
  errorClass: 'ssrf_blocked',
  errorMessage: DESTINATION_REFUSED,
  refusal: reason,
});

// Messages stay generic: targets are tenant-controlled, so echoing peer-supplied text or
// low-level detail would let a tenant use us to fingerprint hosts and ports.
function classifyError(err: unknown, timedOut: boolean, timeoutMs: number): Classified {
  if (timedOut) return { errorClass: 'timeout', errorMessage: `timed out after ${timeoutMs} ms` };
  const codes = errorCodes(err);
  if (codes.includes(SSRF_BLOCKED_CODE)) return refused(String(findReason(err) ?? 'not allowed'));
  const dns = codes.find((c) => DNS_CODES.has(c));
  if (dns) return refused(`DNS lookup failed (${dns})`);
  if (codes.some((c) => TIMEOUT_CODES.has(c))) {
    return { errorClass: 'timeout', errorMessage: `timed out after ${timeoutMs} ms` };
  }
  const tls = codes.find((c) => TLS_CODES.has(c) || c.startsWith('ERR_TLS_') || c.startsWith('ERR_SSL_'));
  if (tls) return { errorClass: 'tls', errorMessage: `TLS handshake failed (${tls})` };
  if (codes.includes(ANSWER_TOO_LARGE_CODE)) {
    return { errorClass: 'connection', errorMessage: 'invalid HTTP response (too long without completing)' };
  }
  for (const c of codes) {
    const msg = CONNECTION_MESSAGES[c];
    if (msg) return { errorClass: 'connection', errorMessage: msg };
  }
  // llhttp's parse errors: `HPE_*` codes, or undici's `HTTPParserError` without a code (a peer that
  // does not speak HTTP at all).
  if (codes.some((c) => c.startsWith('HPE_')) || isParserError(err))
    return { errorClass: 'connection', errorMessage: 'invalid HTTP response' };
  return { errorClass: 'connection', errorMessage: 'request failed' };
}

function isParserError(err: unknown, depth = 0): boolean {
  if (depth > 5 || typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; cause?: unknown };
  return e.name === 'HTTPParserError' || isParserError(e.cause, depth + 1);
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

const NUL = /\0/g;
const LONE_SURROGATE = /\p{Cs}/gu;

/**
 * Text PostgreSQL stores: `text` refuses NUL, and a lone UTF-16 surrogate has no UTF-8 form.
 * Both become U+FFFD, as invalid bytes do when decoding.
 */
export function storableText(text: string): string {
  return text.replace(NUL, '\uFFFD').replace(LONE_SURROGATE, '\uFFFD');
}

/** The longest prefix of `text` whose UTF-8 form fits `maxBytes`, never splitting a character. */
function clipUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  // Streaming mode holds back, and so drops, a sequence the cut left incomplete.
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes.subarray(0, maxBytes), { stream: true });
}

function failure(started: number, f: Failure, statusCode: number | null = null): AttemptResult {
  return {
    ok: false,
    statusCode,
    durationMs: Math.round(performance.now() - started),
    errorClass: f.errorClass,
    errorMessage: storableText(f.errorMessage),
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
    connect: budgetedConnector({ lookup, timeout: timeoutMs }, answerBudget(maxResponseBytes)),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    // An idle socket is kept at most 30 s, whatever the receiver's `Keep-Alive: timeout=` asks
    // (undici's default allows 600 s): a tenant with many endpoints on many origins must not hold
    // the process's file descriptors open.
    keepAliveMaxTimeout: 30_000,
    ...(opts.connections !== undefined ? { connections: opts.connections } : {}),
  });

  /** The failure of a refused destination: the reason goes to the operator, never into the result. */
  function refusal(started: number, req: WebhookRequest, f: Classified): AttemptResult {
    if (f.refusal !== undefined && opts.onRefused) {
      try {
        opts.onRefused({ reason: f.refusal, url: req.url, context: req.context });
      } catch {
        // A logging hook must not turn into a failed or thrown attempt.
      }
    }
    return failure(started, f);
  }

  async function send(req: WebhookRequest): Promise<AttemptResult> {
    const started = performance.now();
    if (!URL.canParse(req.url)) return failure(started, { errorClass: 'invalid_url', errorMessage: 'invalid URL' });
    const vetted = vetUrl(req.url, { allowPrivateNetworks });
    if (!vetted.ok) return refusal(started, req, refused(vetted.reason));

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

    const sent = exchange(
      agent,
      {
        origin: vetted.url.origin,
        path: `${vetted.url.pathname}${vetted.url.search}`,
        method: 'POST',
        headers,
        body: req.body,
      },
      maxResponseBytes,
      timeoutMs,
      req.startBy,
    );
    try {
      const { statusCode, retryAfter, body, cut } = await sent.answer;
      const ok = statusCode >= 200 && statusCode < 300;
      return {
        ok,
        statusCode,
        durationMs: Math.round(performance.now() - started),
        errorClass: ok ? null : 'http_status',
        errorMessage: ok ? null : `HTTP ${statusCode}`,
        // U+FFFD takes three bytes where the invalid byte or NUL took one: clip back to the cap.
        responseBody:
          body === '' ? '' : clipUtf8(storableText(withoutSentSecrets(body, headers, cut)), maxResponseBytes),
        retryAfterSeconds: parseRetryAfter(retryAfter),
      };
    } catch (err) {
      if (err instanceof NotSentInTime) throw err;
      const classified = classifyError(err, sent.timedOut(), timeoutMs);
      if (classified.refusal !== undefined) return refusal(started, req, classified);
      // An answer that broke off after its status (reset, timed out, too long): the status is not
      // the attempt's, whatever it said (a 2xx is not a success, a 410 disables nothing), and
      // every view reads the attempt as the failure it is; the error message keeps it.
      const status = sent.statusCode();
      return failure(
        started,
        status === null
          ? classified
          : { ...classified, errorMessage: `${classified.errorMessage} (after HTTP ${status})` },
      );
    }
  }

  let closing: Promise<void> | null = null;
  return {
    send,
    // Idempotent: shutdown paths commonly call close() more than once.
    close: () => (closing ??= agent.close()),
  };
}
