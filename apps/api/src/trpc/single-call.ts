import type { Context } from '@herald/router';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { getErrorShape } from '@trpc/server/unstable-core-do-not-import';
import type { Context as HonoContext } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { HeraldEnv } from '../middleware/request-context';
import { answerJson, setAnswerHeader } from '../middleware/request-context';
import { procedureCaller, procedureTypeAt, routerConfig } from '../rest/procedures';
import type { TrpcErrorHooks } from './error-hooks';
import { answersAsStream } from './streaming';

/**
 * One tRPC call sent alone, not in a batch: a query (`GET /trpc/users.get?input=…`) or a mutation
 * (`POST /trpc/users.create` with its input as the JSON body), answered as tRPC's fetch adapter
 * answers it, through the caller the REST routes use. The adapter builds a WHATWG `Request`,
 * three `AbortSignal`s (on Node 20 each is made transferable, ~10 µs apiece), a `Response` that
 * @hono/node-server then reads back: ~40 % more CPU per read than the same procedure over REST
 * (bench/README.md, figure 2). Anything else (batches, a query sent by POST or a mutation by GET,
 * streams, `connectionParams`, a POST that is not `application/json`, an input that is not JSON,
 * an unknown path) returns null and goes to the adapter,
 * which also answers it with its own errors. `test/trpc-single-call.db.test.ts` checks both
 * answer alike. A POST body is the one `readBodyWithin` checked (`c.req.text()`).
 */
export async function answerSingleCall(
  c: HonoContext<HeraldEnv>,
  createContext: () => Context,
  hooks: TrpcErrorHooks,
): Promise<Response | null> {
  const type = c.req.method === 'GET' ? 'query' : c.req.method === 'POST' ? 'mutation' : null;
  if (!type) return null;
  // Read from the URL as the adapter reads it (`URLSearchParams`, the percent-encoded pathname
  // decoded once): Hono's own readers decode paths and invalid UTF-8 differently.
  const url = new URL(c.req.url);
  if (url.searchParams.has('batch') || url.searchParams.has('connectionParams')) return null;
  // The adapter takes a POST only as `application/json` exactly (415 otherwise, body or not).
  if (type === 'mutation' && !isJsonContentType(c.req.header('content-type'))) return null;
  // Streams, and server-sent events (subscriptions), are the adapter's.
  if (answersAsStream((name) => c.req.header(name)) || c.req.header('accept')?.includes('text/event-stream')) {
    return null;
  }
  const path = procedurePath(url.pathname);
  if (!path || procedureTypeAt(path) !== type) return null;
  const rawInput = type === 'query' ? url.searchParams.get('input') : await c.req.text();
  let input: unknown;
  try {
    // As the adapter reads it: absent or empty is no input; no transformer is configured.
    input = rawInput ? JSON.parse(rawInput) : undefined;
  } catch {
    return null;
  }

  const ctx = createContext();
  const call = procedureCaller(ctx, path);
  setAnswerHeader(c, 'vary', 'trpc-accept, accept');
  try {
    const data = await call(input);
    return answerJson(c, { result: data === undefined ? {} : { data } }, 200);
  } catch (cause) {
    if (!(cause instanceof TRPCError)) throw cause;
    hooks.onError({ error: cause, path });
    const headers = hooks.responseMeta({ errors: [cause] }).headers ?? {};
    for (const [name, value] of Object.entries(headers)) setAnswerHeader(c, name.toLowerCase(), value);
    const shape = getErrorShape({ config: routerConfig(), ctx, error: cause, input, path, type });
    return answerJson(c, { error: shape }, getHTTPStatusCodeFromError(cause) as ContentfulStatusCode);
  }
}

/** tRPC's mount path (`endpoint` of the adapter in app.ts), with its slash. */
const TRPC_PREFIX = '/trpc/';

/** `users.get` from `/trpc/users.get`; null for a batch (`a,b`) or a path that does not decode. */
function procedurePath(pathname: string): string | null {
  if (!pathname.startsWith(TRPC_PREFIX)) return null;
  const raw = pathname.slice(TRPC_PREFIX.length);
  if (raw === '' || raw.includes(',') || raw.includes('/')) return null;
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

/** tRPC's test for a JSON request: the media type, lowercased and without parameters, is `application/json`. */
function isJsonContentType(header: string | undefined): boolean {
  return header?.toLowerCase().split(';', 1)[0]?.trim() === 'application/json';
}
