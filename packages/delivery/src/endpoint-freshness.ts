import type { Database } from '@herald/db';
import type { Logger } from 'pino';
import type { ClaimedDelivery } from './sql/claimed-row';
import type { EndpointConfig } from './sql/endpoint-config';
import { readEndpointConfig } from './sql/endpoint-config';

/**
 * How old a claimed delivery's copy of its endpoint (URL, headers, signing secrets, disabled) may
 * be when it is sent. A delivery claimed ahead of a free slot waits up to the prefetch deadline
 * (15 s by default): sent with the copy its claim made, it went to an endpoint's old URL, with a
 * secret rotated away without grace, or after the endpoint was disabled or deleted, for that long
 * after the change was made. One that waited longer than this is sent with its endpoint as it is
 * now: read once per endpoint and this period at most, and only under a backlog.
 */
export const ENDPOINT_FRESH_MS = 1_000;

/**
 * Brings a delivery that waited for a slot up to date with its endpoint before it is sent:
 * `fresh` (send it), `gone` (the endpoint was deleted, and its deliveries with it: nothing to send
 * or write), or `unknown` (the endpoint could not be read: not sent, left to its lease, rather
 * than sent with a copy that may be 15 s old). A read shared by the deliveries of one endpoint is
 * used only if it began within `freshMs` of its use: one that took longer (a busy database) is
 * made again, once, and that one is used however long it took.
 */
export function endpointFreshness(db: Database, logger: Logger, freshMs = ENDPOINT_FRESH_MS) {
  const reads = new Map<string, { at: number; config: Promise<EndpointConfig | null | undefined> }>();
  let lastSweep = performance.now();
  const read = (endpointId: string, now: number) => {
    if (now - lastSweep > freshMs * 10) {
      for (const [id, held] of reads) if (now - held.at > freshMs) reads.delete(id);
      lastSweep = now;
    }
    const config = readEndpointConfig(db, endpointId).catch((error: unknown) => {
      logger.warn({ err: error, endpointId }, "reading an endpoint's configuration failed");
      return undefined;
    });
    const entry = { at: now, config };
    reads.set(endpointId, entry);
    return entry;
  };
  const current = async (endpointId: string) => {
    for (let tries = 0; ; tries++) {
      const now = performance.now();
      const held = reads.get(endpointId);
      const entry = held && now - held.at <= freshMs ? held : read(endpointId, now);
      const config = await entry.config;
      if (config === undefined || tries === 1 || performance.now() - entry.at <= freshMs) return config;
    }
  };
  return {
    /** True when a delivery claimed at `claimedAt` may be sent with its claim's copy (no read, no await). */
    isFresh: (claimedAt: number) => performance.now() - claimedAt <= freshMs,
    async refresh(delivery: ClaimedDelivery): Promise<'fresh' | 'gone' | 'unknown'> {
      const config = await current(delivery.endpoint.id);
      if (config === undefined) return 'unknown';
      if (config === null) return 'gone';
      delivery.endpoint = { ...delivery.endpoint, url: config.url, headers: config.headers, disabled: config.disabled };
      delivery.secrets = config.secrets;
      return 'fresh';
    },
  };
}
