import { EventEmitter } from 'node:events';
import type { Database, SecretBox } from '@herald/db';
import { CLEAR_SECRET_BOX, executeRows } from '@herald/db';
import { sql } from 'drizzle-orm';
import type { DispatcherConfig } from './config';
import { withoutSecretsOf } from './http/answer-redaction';
import type { AttemptResult } from './http/send-webhook';
import { envelopeBody, webhookHeaders } from './message';
import { LISTEN_STREAM_TOUCH_MS, touchListenEndpoint } from './sql/abandoned-listen';
import { claimRelayDeliveries, findRelayLease } from './sql/claim-relay';
import type { AttemptOutcome } from './sql/finish';
import { recordAttempt } from './sql/finish';
import { releaseLeases } from './sql/release';
import { failWithoutSending } from './sql/skip';
import type { DeliveryWakeup } from './wakeup';

/** One delivery sent down a `herald listen` stream: the exact bytes and signed headers to forward. */
export interface RelayedDelivery {
  deliveryId: string;
  eventId: string;
  eventType: string;
  /** 1 for the first attempt. */
  attempt: number;
  body: string;
  headers: Record<string, string>;
}

/** What the CLI saw when it forwarded a delivery to the local URL (`ok` follows from the status). */
export type RelayReport = Omit<AttemptResult, 'ok'> & {
  endpointId: string;
  /** The stream's lease owner (the `session` the stream announced). */
  owner: string;
  deliveryId: string;
};

export type RelayConfig = Pick<DispatcherConfig, 'leaseMs' | 'pollIntervalMs' | 'retryPolicy' | 'failureWindowMs'> & {
  /** Deliveries one stream holds unreported at once. */
  maxOutstanding: number;
};

export interface ListenRelay {
  /**
   * Claims the endpoint's due deliveries for `owner` and hands each to `send`, until `signal`
   * aborts or the endpoint is gone (resolves 'aborted' or 'endpoint_gone'). Woken by the
   * deliveries wakeup, by a report of this owner in this process, and by polling.
   */
  stream(
    endpointId: string,
    owner: string,
    send: (delivery: RelayedDelivery) => Promise<void>,
    signal: AbortSignal,
  ): Promise<'aborted' | 'endpoint_gone'>;
  /** Records the CLI's outcome as the attempt, as the dispatcher would have; null: the lease is no longer held. */
  report(report: RelayReport): Promise<AttemptOutcome | null>;
  /** The stream ended: its unreported deliveries are due again at once instead of when their leases end. */
  release(owner: string): Promise<number>;
}

/**
 * The API side of `herald listen`: deliveries of a `listen` endpoint are never claimed by a
 * dispatcher (their budget is 0 in `claimDueDeliveries`); the API process holding the CLI's
 * stream claims them under a lease (`claimRelayDeliveries`), signs them as the dispatcher does
 * (`envelopeBody`, `webhookHeaders`), and records the outcome the CLI reports through
 * `recordAttempt`, so retries, backoff, auto-disable and the delivery log behave as in production.
 */
export function createListenRelay(options: {
  db: Database;
  /** `subscribe` wakes streams when deliveries are committed. */
  wakeup?: Pick<DeliveryWakeup, 'notify'> & Partial<Pick<DeliveryWakeup, 'subscribe'>>;
  config: RelayConfig;
  /** Opens the endpoint's signing secrets when they are stored sealed (see `SecretBox`). */
  secrets?: SecretBox;
}): ListenRelay {
  const { db, config } = options;
  const secretBox = options.secrets ?? CLEAR_SECRET_BOX;
  // Reports answered by this process wake the stream they belong to (when it is here too).
  const reported = new EventEmitter();
  reported.setMaxListeners(0);

  async function endpointExists(endpointId: string): Promise<boolean> {
    const rows = await executeRows(db, sql`select 1 from endpoints where id = ${endpointId} and kind = 'listen'`);
    return rows.length > 0;
  }

  return {
    async stream(endpointId, owner, send, signal) {
      let wake: (() => void) | null = null;
      let woken = false;
      const poke = () => {
        woken = true;
        wake?.();
      };
      const unsubscribe = await options.wakeup?.subscribe?.(poke).catch(() => null);
      reported.on(owner, poke);
      signal.addEventListener('abort', poke);
      // When this stream last marked its endpoint as held: maintenance deletes one no stream held for a day.
      let touchedAt = Number.NEGATIVE_INFINITY;
      try {
        while (!signal.aborted) {
          woken = false;
          if (performance.now() - touchedAt >= LISTEN_STREAM_TOUCH_MS) {
            if (!(await touchListenEndpoint(db, endpointId))) return 'endpoint_gone';
            touchedAt = performance.now();
          }
          const claimed = await claimRelayDeliveries(db, {
            endpointId,
            owner,
            leaseMs: config.leaseMs,
            maxOutstanding: config.maxOutstanding,
          });
          for (const delivery of claimed) {
            if (delivery.endpoint.disabled || delivery.payloadExpired) {
              // As the dispatcher: never a webhook to a disabled endpoint or with an expired payload.
              await failWithoutSending(db, delivery, owner, delivery.payloadExpired ? 'payload_expired' : undefined);
              continue;
            }
            const secrets = secretBox.openAll(delivery.secrets, delivery.endpoint.id);
            // Sealed under a key this process lacks: left to its lease (and the operator's fix),
            // never sent unsigned or signed wrongly.
            if (!secrets) continue;
            const body = envelopeBody(delivery.event);
            const headers = webhookHeaders({
              eventId: delivery.event.id,
              body,
              secrets,
              sentAt: new Date(),
              endpointHeaders: delivery.endpoint.headers,
            });
            await send({
              deliveryId: delivery.id,
              eventId: delivery.event.id,
              eventType: delivery.event.type,
              attempt: delivery.attemptCount + 1,
              body,
              headers,
            });
          }
          if (claimed.length > 0 || woken || signal.aborted) continue;
          if (!(await endpointExists(endpointId))) return 'endpoint_gone';
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, config.pollIntervalMs);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
            if (woken || signal.aborted) wake();
          });
          wake = null;
        }
        return 'aborted';
      } finally {
        reported.off(owner, poke);
        signal.removeEventListener('abort', poke);
        await unsubscribe?.().catch(() => {});
      }
    },

    async report(report) {
      const delivery = await findRelayLease(db, report);
      if (!delivery) return null;
      const { endpointId: _endpoint, owner: _owner, deliveryId: _delivery, ...answer } = report;
      // As the dispatcher keeps them (send-webhook.ts): no custom header value and no signature in
      // what the attempt log shows, whatever the local receiver echoed and the CLI passed on.
      const headers = delivery.endpoint.headers;
      const attempt = {
        ...answer,
        responseBody: answer.responseBody === null ? null : withoutSecretsOf(answer.responseBody, headers),
        errorMessage: answer.errorMessage === null ? null : withoutSecretsOf(answer.errorMessage, headers),
      };
      // As the sender records an attempt: an answer that broke off after its status (an error other
      // than the status itself) is a failure, recorded without that status.
      const broken = report.errorClass !== null && report.errorClass !== 'http_status';
      const statusCode = broken ? null : report.statusCode;
      const ok = report.errorClass === null && statusCode !== null && statusCode >= 200 && statusCode < 300;
      const result: AttemptResult = { ...attempt, statusCode, ok };
      const { outcome } = await recordAttempt(db, delivery, result, {
        owner: report.owner,
        retryPolicy: config.retryPolicy,
        failureWindowMs: config.failureWindowMs,
        neverDisable: true,
        startedAt: new Date(Date.now() - report.durationMs),
      });
      reported.emit(report.owner);
      return outcome;
    },

    release: (owner) => releaseLeases(db, owner),
  };
}
