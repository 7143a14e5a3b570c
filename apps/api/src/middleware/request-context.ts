import { randomUUID } from 'node:crypto';
import type { CallBudget } from '@herald/router';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';

export type RequestVariables = {
  requestId: string;
  /** Headers every answer to this request carries (`setAnswerHeader`). */
  answerHeaders: Record<string, string>;
  /** The procedure calls the rate limit granted this request (`/v1` and `/trpc` only). */
  callBudget?: CallBudget;
  /** The client's address (`clientAddressOf`): the socket peer, or whom trusted proxies forwarded for. */
  clientAddress?: string;
  /** The socket's peer is a trusted proxy (`clientAddressOf`): its `X-Forwarded-Host` counts. */
  fromTrustedProxy?: boolean;
  /** Configured secrets a path may hold by mistake (the admin token): `pathForLog` hides them. */
  secretsInPaths?: readonly string[];
  /** Set by the app's 404 for a path with no route: nothing ran (an Idempotency-Key is not spent). */
  noRoute?: boolean;
};

/** The Hono environment of every Herald route: typed context variables, no casts. */
export type HeraldEnv = { Variables: RequestVariables };

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Answers made by `answerJson`: they carry the answer headers already. */
const carrying = new WeakSet<Response>();

/**
 * Gives every request an id (the caller's `X-Request-Id` when sane) and logs one line for it.
 * Its answer carries the headers set with `setAnswerHeader`: built in by `answerJson`, added
 * here to any other answer.
 */
export function requestContext(logger: Logger, secrets: readonly string[] = []) {
  const secretsInPaths = secrets.filter((secret) => secret !== '');
  return createMiddleware<HeraldEnv>(async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const headers: Record<string, string> = { 'x-request-id': requestId };
    c.set('requestId', requestId);
    c.set('answerHeaders', headers);
    if (secretsInPaths.length > 0) c.set('secretsInPaths', secretsInPaths);
    const started = performance.now();
    await next();
    if (!carrying.has(c.res)) addAnswerHeaders(c, headers);
    if (!logger.isLevelEnabled('info')) return;
    logger.info(
      {
        requestId,
        method: c.req.method,
        path: pathForLog(c),
        status: c.res.status,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
      },
      'request',
    );
  });
}

/**
 * Credentials a client put in a path by mistake (`GET /v1/users/sk_…`): API keys, signing secrets,
 * portal link and session tokens keep their prefix in the log line, not their value, nor anything
 * after it (a signing secret is base64: it may hold `/`), wherever no letter or digit comes right
 * before it: a segment's start, after an id's prefix (`usr_sk_…`), a space, a quote, `Bearer `. The configured admin and metrics tokens, which have no prefix, are
 * hidden as they are. Either is looked for with ASCII escapes decoded (`%2F`, `%2b`): a path holding
 * one is logged decoded, with it hidden. Query strings are not logged at all.
 */
const CREDENTIAL_IN_PATH = /(?<![A-Za-z0-9])(sk|whsec|hpl|hps)_.*$/s;

/** This request's path, as log lines may quote it. */
export function pathForLog(c: Context<HeraldEnv>): string {
  const path = c.req.path;
  const decoded = path.includes('%')
    ? path.replace(/%([0-7][0-9a-f])/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    : path;
  const secrets = (c.get('secretsInPaths') ?? []).filter((secret) => decoded.includes(secret));
  if (secrets.length === 0 && !CREDENTIAL_IN_PATH.test(decoded)) return path;
  let hidden = decoded;
  for (const secret of secrets) hidden = hidden.replaceAll(secret, '[redacted]');
  return hidden.replace(CREDENTIAL_IN_PATH, '$1_[redacted]');
}

/**
 * The answer headers on an answer not built by `answerJson`, in place (as Hono's own header
 * middlewares do): a header the answer sets itself wins. `c.header` instead would rebuild the
 * whole answer once per header.
 */
function addAnswerHeaders(c: Context<HeraldEnv>, headers: Record<string, string>): void {
  try {
    const answered = c.res.headers;
    for (const name in headers) if (!answered.has(name)) answered.set(name, headers[name]!);
  } catch {
    // Immutable headers (an answer passed through from `fetch`): rebuilt with them.
    for (const name in headers) c.header(name, headers[name]);
  }
}

/**
 * A header for this request's answer, whatever makes it (`X-Request-Id`, `RateLimit`): kept in a
 * plain object, not Hono's `c.header`. The hot answers are built by `answerJson` with their headers
 * as a plain object, which @hono/node-server writes as it is; one `c.header` call makes the answer
 * build a WHATWG `Headers` and @hono/node-server read it back (1.4–2.6 µs per answer in a
 * micro-benchmark on the bench host, more in a busy process). Names in lower case.
 */
export function setAnswerHeader(c: Context<HeraldEnv>, name: string, value: string): void {
  const headers = c.get('answerHeaders');
  if (headers) headers[name.toLowerCase()] = value;
  else c.header(name, value); // outside requestContext (a sub-app tested alone)
}

/**
 * A JSON answer with the answer headers (`setAnswerHeader`) in it. Headers set with
 * `c.header` before it are not in it: on the paths that use it (a procedure's result, over REST or
 * tRPC), nothing sets any.
 */
export function answerJson(c: Context<HeraldEnv>, data: unknown, status: ContentfulStatusCode): Response {
  const answerHeaders = c.get('answerHeaders');
  // Outside requestContext (a sub-app tested alone) the headers went through `c.header`.
  if (!answerHeaders) return c.json(data as object, status);
  const headers = { ...answerHeaders, 'content-type': 'application/json' };
  const response = new Response(JSON.stringify(data), { status, headers });
  carrying.add(response);
  return response;
}

/** The id `requestContext` gave this request, for log lines written elsewhere. */
export function requestIdOf(c: Context<HeraldEnv>): string | undefined {
  return c.get('requestId');
}
