import { performance } from 'node:perf_hooks';
import { deadline as deadlineOf } from '@herald/client';
import packageJson from '../package.json' with { type: 'json' };
import { readExcerpt } from './http-body';
import { parseRetryAfter } from './retry-after';

/** What `herald listen` saw when it forwarded one delivery: the attempt it reports back to Herald. */
export interface ForwardResult {
  statusCode: number | null;
  durationMs: number;
  errorClass: 'timeout' | 'connection' | 'invalid_url' | 'http_status' | null;
  errorMessage: string | null;
  /** The start of the local answer, as the dispatcher keeps it. */
  responseBody: string | null;
  retryAfterSeconds: number | null;
}

/** As much of the local answer as the dispatcher keeps of a real endpoint's (its `maxResponseBytes`). */
const RESPONSE_EXCERPT_BYTES = 4096;
const USER_AGENT = `herald-cli/${packageJson.version}`;

/** What a forward sends: the body and headers exactly as Herald signed them. */
type Forwarded = { body: string; headers: Record<string, string> };

/**
 * POSTs the signed body and headers exactly as Herald made them to the local URL: no redirects
 * followed (a 3xx is a failure, as for real endpoints), bounded by `timeoutMs`. As in production the
 * status decides the outcome and only the answer's first 4 KB is read (a 200 that keeps streaming
 * is a success). Resolves to null when `stop` aborts first: nothing to report, the lease lapses.
 */
export function forwardDelivery(url: string, delivery: Forwarded, timeoutMs: number): Promise<ForwardResult>;
export function forwardDelivery(
  url: string,
  delivery: Forwarded,
  timeoutMs: number,
  stop: AbortSignal,
): Promise<ForwardResult | null>;
export async function forwardDelivery(
  url: string,
  delivery: Forwarded,
  timeoutMs: number,
  stop?: AbortSignal,
): Promise<ForwardResult | null> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  // Not AbortSignal.timeout: inside AbortSignal.any, Node 20 can collect it before it fires. Cleared
  // at the end: a timer kept for the whole --timeout per forward grew without bound at day-long ones.
  const timer = deadlineOf(timeoutMs);
  const deadline = timer.signal;
  // Followed by hand, and let go at the end: AbortSignal.any on Node 20 would keep a reference per
  // forward to `stop`, which lives as long as the listen session.
  const stopped = new AbortController();
  const onStop = () => stopped.abort(stop?.reason);
  stop?.addEventListener('abort', onStop, { once: true });
  if (stop?.aborted) onStop();
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { ...delivery.headers, 'content-type': 'application/json', 'user-agent': USER_AGENT },
      body: delivery.body,
      redirect: 'manual',
      signal: AbortSignal.any([deadline, stopped.signal]),
    });
    const text = await readExcerpt(response, RESPONSE_EXCERPT_BYTES);
    const ok = response.status >= 200 && response.status < 300;
    return {
      statusCode: response.status,
      durationMs: elapsed(),
      errorClass: ok ? null : 'http_status',
      errorMessage: ok ? null : `HTTP ${response.status}`,
      responseBody: text === '' ? null : text,
      retryAfterSeconds: parseRetryAfter(response.headers.get('retry-after')),
    };
  } catch (error) {
    if (stop?.aborted) return null;
    const timedOut = deadline.aborted;
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return {
      statusCode: null,
      durationMs: elapsed(),
      errorClass: timedOut ? 'timeout' : 'connection',
      errorMessage: timedOut ? `no answer within ${timeoutMs} ms` : `${cause ?? 'connection failed'}`,
      responseBody: null,
      retryAfterSeconds: null,
    };
  } finally {
    timer.clear();
    stop?.removeEventListener('abort', onStop);
  }
}
