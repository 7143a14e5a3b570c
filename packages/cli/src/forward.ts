import { performance } from 'node:perf_hooks';
import packageJson from '../package.json' with { type: 'json' };
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

const RESPONSE_EXCERPT_CHARS = 1024;
const USER_AGENT = `herald-cli/${packageJson.version}`;

/**
 * POSTs the signed body and headers exactly as Herald made them to the local URL: no redirects
 * followed (a 3xx is a failure, as for real endpoints), bounded by `timeoutMs`.
 */
export async function forwardDelivery(
  url: string,
  delivery: { body: string; headers: Record<string, string> },
  timeoutMs: number,
): Promise<ForwardResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { ...delivery.headers, 'content-type': 'application/json', 'user-agent': USER_AGENT },
      body: delivery.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = (await response.text()).slice(0, RESPONSE_EXCERPT_CHARS);
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
    const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return {
      statusCode: null,
      durationMs: elapsed(),
      errorClass: timedOut ? 'timeout' : 'connection',
      errorMessage: timedOut ? `no answer within ${timeoutMs} ms` : `${cause ?? 'connection failed'}`,
      responseBody: null,
      retryAfterSeconds: null,
    };
  }
}
