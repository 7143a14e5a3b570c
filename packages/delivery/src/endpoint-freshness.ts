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
 * Brings a delivery that waited for a slot up to date with its endpoint before it is sent.
 * `refresh` resolves false when the endpoint is gone (deleted, and its deliveries with it): the
 * delivery is not sent. A database that does not answer leaves the claim's copy (its outcome
 * write meets the same database).
 */
export function endpointFreshness(db: Database, logger: Logger, freshMs = ENDPOINT_FRESH_MS) {
  const reads = new Map<string, { at: number; config: Promise<EndpointConfig | null | undefined> }>();
  let lastSweep = performance.now();
  const current = (endpointId: string, now: number) => {
    const held = reads.get(endpointId);
    if (held && now - held.at <= freshMs) return held.config;
    if (now - lastSweep > freshMs * 10) {
      for (const [id, read] of reads) if (now - read.at > freshMs) reads.delete(id);
      lastSweep = now;
    }
    const config = readEndpointConfig(db, endpointId).catch((error: unknown) => {
      logger.warn({ err: error, endpointId }, "reading an endpoint's configuration failed: sent as claimed");
      return undefined;
    });
    reads.set(endpointId, { at: now, config });
    return config;
  };
  return {
    async refresh(delivery: ClaimedDelivery, claimedAt: number): Promise<boolean> {
      const now = performance.now();
      if (now - claimedAt <= freshMs) return true;
      const config = await current(delivery.endpoint.id, now);
      if (config === undefined) return true;
      if (config === null) return false;
      delivery.endpoint = { ...delivery.endpoint, url: config.url, headers: config.headers, disabled: config.disabled };
      delivery.secrets = config.secrets;
      return true;
    },
  };
}
