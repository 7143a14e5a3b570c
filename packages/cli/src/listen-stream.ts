import type { RelayedDelivery } from '@herald/delivery';
import { type Api, apiError, describeNetworkFailure } from './api';
import { createBackoff, sleep } from './backoff';
import { CliError } from './errors';
import { readJsonWithin } from './http-body';
import { createIdleWatchdog, type IdleWatchdog, watchBody } from './idle-watchdog';
import type { Output } from './output';
import { parseRetryAfter } from './retry-after';
import { EventTooLargeError, readServerSentEvents } from './sse';

/** Answers to opening the stream that a moment's wait can cure (a restart, a busy proxy): reconnect, not exit. */
const TRANSIENT_STATUSES = new Set([429, 502, 503, 504]);
/** A stream that stayed open this long after its session was healthy: the next drop starts the backoff afresh. */
const HEALTHY_STREAM_MS = 5_000;
/** The longest Retry-After the stream honours: a development tool that waits longer looks dead. */
const MAX_RETRY_AFTER_MS = 5 * 60_000;
/** Enough of a refused answer for Herald's `{ error: { code, message } }`. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/**
 * The API writes a keep-alive comment every 15 s (HEARTBEAT_MS in apps/api's listen routes): three
 * missed in a row and the connection is dead, though no error says so (undici would wait 300 s).
 */
export const STREAM_IDLE_TIMEOUT_MS = 45_000;

/** Why one connection to the stream ended, and how long the server asked to wait before the next. */
interface StreamEnd {
  reason: string;
  healthy: boolean;
  retryAfterMs: number;
}

/**
 * Takes one delivery from the stream. A returned promise holds the stream until it settles (the
 * forwards are at their limit): the stream is not read meanwhile, and its silence is not counted.
 */
export type DeliveryHandler = (session: string, delivery: RelayedDelivery) => Promise<void> | undefined;

export interface ListenStreamOptions {
  /** Reconnect after this long without a byte from the stream; default STREAM_IDLE_TIMEOUT_MS. */
  idleTimeoutMs?: number;
}

/** What one connection needs: the same for every reconnect. */
interface StreamContext {
  api: Api;
  endpointId: string;
  signal: AbortSignal;
  idleTimeoutMs: number;
  warn(text: string): void;
  onDelivery: DeliveryHandler;
}

/**
 * Follows the development endpoint's stream until `signal` aborts, handing each well-formed delivery to
 * `onDelivery` with the session it came in. Reconnects after every drop, network error, silence or
 * transient refusal, backing off between attempts and saying why; the endpoint's deletion and other
 * refusals (401, 403, 404, …) end it with a CliError.
 */
export async function followListenStream(
  api: Api,
  out: Output,
  endpointId: string,
  signal: AbortSignal,
  onDelivery: DeliveryHandler,
  options: ListenStreamOptions = {},
) {
  const backoff = createBackoff();
  const warn = (text: string) => out.warn(text);
  const idleTimeoutMs = options.idleTimeoutMs ?? STREAM_IDLE_TIMEOUT_MS;
  const context: StreamContext = { api, endpointId, signal, idleTimeoutMs, warn, onDelivery };
  while (!signal.aborted) {
    const end = await readStreamOnce(context);
    if (!end || signal.aborted) return;
    // Only a stream that announced a session and then stayed up resets the backoff: one the server ends at
    // once (or that never gets that far) must not turn into a reconnect loop.
    if (end.healthy) backoff.reset();
    const delayMs = Math.max(backoff.next(), end.retryAfterMs);
    warn(`${end.reason}; reconnecting in ${(delayMs / 1000).toFixed(1)} s`);
    await sleep(delayMs, signal);
  }
}

async function readStreamOnce(context: StreamContext): Promise<StreamEnd | null> {
  const { api, endpointId, signal, warn } = context;
  // From the request on: an API that accepts the connection and never answers is as dead as a quiet stream.
  const watchdog = createIdleWatchdog(context.idleTimeoutMs);
  let session: string | null = null;
  let sessionAt = 0;
  const healthy = () => session !== null && Date.now() - sessionAt >= HEALTHY_STREAM_MS;
  const silent = (): StreamEnd => ({
    reason: `no data from the stream for ${context.idleTimeoutMs / 1000} s`,
    healthy: healthy(),
    retryAfterMs: 0,
  });
  try {
    let response: Response;
    try {
      response = await api.fetch(
        `/v1/endpoints/${endpointId}/listen`,
        { headers: { accept: 'text/event-stream' }, signal: AbortSignal.any([signal, watchdog.signal]) },
        { stream: true },
      );
    } catch (error) {
      if (signal.aborted) return null;
      if (watchdog.signal.aborted) return silent();
      if (error instanceof CliError) return { reason: error.message, healthy: false, retryAfterMs: 0 };
      throw error;
    }
    if (response.status !== 200 || !response.body) {
      const body = await readJsonWithin(response, MAX_ERROR_BODY_BYTES);
      if (signal.aborted) return null;
      if (watchdog.signal.aborted) return silent();
      if (!TRANSIENT_STATUSES.has(response.status)) {
        throw apiError(api.config.apiUrl, 'opening the listen stream', response, body);
      }
      const retryAfterSeconds = parseRetryAfter(response.headers.get('retry-after'));
      return {
        reason: `opening the listen stream answered HTTP ${response.status}`,
        healthy: false,
        retryAfterMs: Math.min((retryAfterSeconds ?? 0) * 1000, MAX_RETRY_AFTER_MS),
      };
    }

    let reason: string;
    try {
      for await (const event of readServerSentEvents(watchBody(response.body, watchdog))) {
        if (event.event === 'session') {
          const announced = parseSession(event.data);
          if (announced === null) warn('skipped a session event without a session id');
          else {
            session = announced;
            sessionAt = Date.now();
          }
        } else if (event.event === 'gone') {
          throw new CliError(`The development endpoint ${endpointId} was deleted`, 'endpoint_gone');
        } else if (event.event === 'delivery') {
          const parsed = parseRelayedDelivery(event.data);
          if (typeof parsed === 'string') warn(`skipped a malformed delivery event: ${parsed}`);
          else if (session === null) warn(`skipped delivery ${parsed.deliveryId}: it came before the session`);
          else await holdFor(watchdog, context.onDelivery(session, parsed));
        }
      }
      reason = session === null ? 'the stream ended before it announced a session' : 'the stream ended';
    } catch (error) {
      if (signal.aborted) return null;
      if (error instanceof CliError) throw error;
      if (watchdog.signal.aborted) return silent();
      reason = `the stream broke (${error instanceof EventTooLargeError ? error.message : describeNetworkFailure(error)})`;
    }
    return { reason, healthy: healthy(), retryAfterMs: 0 };
  } finally {
    watchdog.stop();
  }
}

/** Waits for `pending` (room for another forward) with the watchdog paused: the wait is ours, not the stream's. */
async function holdFor(watchdog: IdleWatchdog, pending: Promise<void> | undefined) {
  if (!pending) return;
  watchdog.pause();
  try {
    await pending;
  } finally {
    watchdog.resume();
  }
}

function parseJson(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

function parseSession(data: string): string | null {
  const value = parseJson(data) as { session?: unknown } | null | undefined;
  return typeof value?.session === 'string' && value.session !== '' ? value.session : null;
}

/** A delivery event's data as a RelayedDelivery, or what is wrong with it (one line, never the data itself). */
export function parseRelayedDelivery(data: string): RelayedDelivery | string {
  const value = parseJson(data);
  if (value === undefined) return 'not JSON';
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const d = value as Record<string, unknown>;
  const invalid = ['deliveryId', 'eventId', 'eventType'].filter((key) => typeof d[key] !== 'string' || d[key] === '');
  if (typeof d.body !== 'string') invalid.push('body');
  if (!Number.isInteger(d.attempt) || (d.attempt as number) < 1) invalid.push('attempt');
  if (!isStringRecord(d.headers)) invalid.push('headers');
  if (invalid.length > 0) return `missing or invalid ${invalid.join(', ')}`;
  return value as RelayedDelivery;
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return (
    !!value &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string')
  );
}
