import type { Database } from '@herald/db';
import type { Logger } from 'pino';
import type { ClaimedDelivery } from './sql/claimed-row';
import type { EndpointConfig } from './sql/endpoint-config';
import { readEndpointConfig } from './sql/endpoint-config';
import type { EventPayload } from './sql/event-payload';
import { readEventPayload } from './sql/event-payload';

/**
 * How old a claimed delivery's copy of its endpoint (URL, headers, signing secrets, disabled) and
 * of its event's payload may be when it is sent. A delivery claimed ahead of a free slot waits up
 * to the prefetch deadline (15 s by default): sent with the copies its claim made, it went to an
 * endpoint's old URL, with a secret rotated away without grace, or after the endpoint was disabled
 * or deleted, and carried a deleted user's data after the erasure, for that long after the change
 * was made. One that waited longer than this is sent with its endpoint and its event's payload as
 * they are now: each read once per endpoint or event and this period at most, only under a backlog.
 */
export const ENDPOINT_FRESH_MS = 1_000;

/**
 * Reads shared by the deliveries that need the same row within `freshMs`: a read is used only if it
 * began within `freshMs` of its use; one that took longer (a busy database) is made again, once,
 * and that one is used however long it took. A read that fails gives undefined (logged).
 */
function sharedReads<T>(
  read: (id: string) => Promise<T>,
  freshMs: number,
  onError: (error: unknown, id: string) => void,
) {
  const reads = new Map<string, { at: number; value: Promise<T | undefined> }>();
  let lastSweep = performance.now();
  const start = (id: string, now: number) => {
    if (now - lastSweep > freshMs * 10) {
      for (const [key, held] of reads) if (now - held.at > freshMs) reads.delete(key);
      lastSweep = now;
    }
    const value = read(id).catch((error: unknown) => {
      onError(error, id);
      return undefined;
    });
    const entry = { at: now, value };
    reads.set(id, entry);
    return entry;
  };
  return async (id: string): Promise<T | undefined> => {
    for (let tries = 0; ; tries++) {
      const now = performance.now();
      const held = reads.get(id);
      const entry = held && now - held.at <= freshMs ? held : start(id, now);
      const value = await entry.value;
      if (value === undefined || tries === 1 || performance.now() - entry.at <= freshMs) return value;
    }
  };
}

/**
 * Brings a delivery that waited for a slot up to date with its endpoint and its event before it is
 * sent: `fresh` (send it: a payload cleared meanwhile is caught by `payloadExpired`), `gone` (the
 * endpoint was deleted, and its deliveries with it: nothing to send or write), or `unknown` (a row
 * could not be read: not sent, left to its lease, rather than sent with copies that may be 15 s old).
 */
export function sendFreshness(db: Database, logger: Logger, freshMs = ENDPOINT_FRESH_MS) {
  const endpoints = sharedReads<EndpointConfig | null>(
    (endpointId) => readEndpointConfig(db, endpointId),
    freshMs,
    (error, endpointId) => logger.warn({ err: error, endpointId }, "reading an endpoint's configuration failed"),
  );
  const payloads = sharedReads<EventPayload | null>(
    (eventId) => readEventPayload(db, eventId),
    freshMs,
    (error, eventId) => logger.warn({ err: error, eventId }, "reading an event's payload failed"),
  );
  return {
    /** True when a delivery claimed at `claimedAt` may be sent with its claim's copies (no read, no await). */
    isFresh: (claimedAt: number) => performance.now() - claimedAt <= freshMs,
    async refresh(delivery: ClaimedDelivery): Promise<'fresh' | 'gone' | 'unknown'> {
      const [config, payload] = await Promise.all([endpoints(delivery.endpoint.id), payloads(delivery.event.id)]);
      if (config === undefined) return 'unknown';
      if (config === null) return 'gone';
      if (payload === undefined) return 'unknown';
      delivery.endpoint = { ...delivery.endpoint, url: config.url, headers: config.headers, disabled: config.disabled };
      delivery.secrets = config.secrets;
      // An event gone (its day dropped) has no payload either, as a claim reads it.
      if (payload === null || payload.expired) delivery.payloadExpired = true;
      else if (payload.dataJson !== delivery.event.dataJson) {
        // A new object: the body is built once per event object (`envelopeBody`), the claim's is kept.
        delivery.event = { ...delivery.event, dataJson: payload.dataJson };
      }
      return 'fresh';
    },
  };
}
