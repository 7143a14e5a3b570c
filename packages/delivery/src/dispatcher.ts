import { randomBytes } from 'node:crypto';
import type { Database, SecretBox } from '@herald/db';
import { CLEAR_SECRET_BOX } from '@herald/db';
import type { Logger } from 'pino';
import pino from 'pino';
import { AttemptRecorder } from './attempt-recorder';
import type { DispatcherConfig } from './config';
import { defaultDispatcherConfig } from './config';
import { NotSentInTime } from './http/exchange';
import type { WebhookSender } from './http/send-webhook';
import { createWebhookSender } from './http/send-webhook';
import type { Resolver } from './http/ssrf';
import { runMaintenance } from './maintenance';
import { envelopeBody, webhookHeaders } from './message';
import { DispatcherMetrics } from './metrics';
import { sendFreshness } from './send-freshness';
import { claimCaps, newcomerQuotaOf, SendSlots } from './send-slots';
import type { ClaimedDelivery } from './sql/claim';
import { claimDue } from './sql/claim';
import { parkBlockedFifoFollowers } from './sql/fifo-park';
import { SLOW_AFTER_TIMEOUTS } from './sql/finish';
import { analyzeLaggingQueuePartitions } from './sql/queue-statistics';
import type { QueueWindow } from './sql/queue-window';
import { readQueueWindow, refreshQueueWindow } from './sql/queue-window';
import { releaseLeases } from './sql/release';
import { failWithoutSending } from './sql/skip';
import type { DeliveryWakeup } from './wakeup';

/** How often a dispatcher recomputes the queue window: the longest a delivery that slipped below it waits. */
const QUEUE_WINDOW_REFRESH_MS = 5_000;

/**
 * How long claims that refill freed slots reuse the window they read (a read per claim was one
 * more round trip per ~20 deliveries). A wakeup always reads it afresh: requeue and recover lower
 * the window and then notify, and must find their deliveries claimable at once.
 */
const QUEUE_WINDOW_REUSE_MS = 100;

/**
 * Answered deliveries whose outcome may wait for its write at once, per slot. A write waits for the
 * group commit, and a commit waits for the disk: while another process's big file work held the
 * host's fsyncs up (a retention run dropping 3 GB, bench 5c), one per slot stopped claiming after
 * ~20 ms of slow commits; four per slot ride out ~70 ms at 3,500 deliveries/s. Unpaced retention
 * runs kept 0.77–1.03 of the dispatch rate with four (six runs), 0.67 with one (one run): noisy,
 * but not worse. The cost: a crash re-sends up to this many per slot more, once their leases run
 * out (at least once, as always).
 */
const UNWRITTEN_PER_SLOT = 4;

export const USER_AGENT = 'Herald-Webhooks/0.1.0';

export interface DispatcherOptions {
  db: Database;
  wakeup: Pick<DeliveryWakeup, 'subscribe' | 'notify'>;
  config?: Partial<DispatcherConfig>;
  logger?: Logger;
  /** DNS for the SSRF check (tests inject one). */
  resolve?: Resolver;
  /** Names this worker's leases; unique per process by default. */
  workerId?: string;
  /**
   * Opens endpoint signing secrets stored sealed (`HERALD_SECRET_KEY`; see `SecretBox`), and the
   * maintenance seals those stored in clear. Default: none (secrets stored in clear only).
   */
  secrets?: SecretBox;
}

export interface Dispatcher {
  readonly workerId: string;
  readonly metrics: DispatcherMetrics;
  start(): Promise<void>;
  /** Stops claiming, lets in-flight deliveries finish, gives back unused leases. */
  stop(): Promise<void>;
  /** Resolves when no delivery is in flight and the last claim found nothing. */
  idle(): Promise<void>;
}

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const config: DispatcherConfig = { ...defaultDispatcherConfig, ...options.config };
  if (config.leaseMs <= config.requestTimeoutMs) {
    // The lease would run out mid-request: another worker (or this one) would send it again.
    throw new Error(`leaseMs (${config.leaseMs}) must be longer than requestTimeoutMs (${config.requestTimeoutMs})`);
  }
  const logger = options.logger ?? pino({ level: 'silent' });
  const secretBox = options.secrets ?? CLEAR_SECRET_BOX;
  const metrics = new DispatcherMetrics({
    retentionMs: config.retentionMs,
    ...(secretBox.sealing ? { sealingKeyId: secretBox.keyId } : {}),
  });
  const workerId = options.workerId ?? `dsp_${randomBytes(6).toString('hex')}`;

  const sender: WebhookSender = createWebhookSender({
    timeoutMs: config.requestTimeoutMs,
    maxResponseBytes: config.maxResponseBytes,
    allowPrivateNetworks: config.allowPrivateNetworks,
    userAgent: USER_AGENT,
    ...(options.resolve ? { resolve: options.resolve } : {}),
    // The tenant's attempt log says only "destination refused"; why goes to the operator.
    onRefused: ({ reason, url, context }) => {
      const host = URL.canParse(url) ? new URL(url).host : 'invalid URL';
      logger.warn({ ...context, host, reason }, 'webhook destination refused');
    },
  });

  const freshness = sendFreshness(options.db, logger);
  const recorder = new AttemptRecorder(options.db, {
    owner: workerId,
    retryPolicy: config.retryPolicy,
    failureWindowMs: config.failureWindowMs,
  });
  /** Every delivery sent until its outcome is written (stop and idle wait for them). */
  const inFlight = new Set<Promise<void>>();
  // A claimed delivery starts only within this long of its claim, so that a whole request still
  // fits in its lease, with half the margin to spare for the claim's own round trip.
  const maxWaitMs = (config.leaseMs - config.requestTimeoutMs) / 2;
  const prefetch = config.prefetch;
  const slots = new SendSlots<ClaimedDelivery>(
    // Sending: the caps over the slots alone.
    {
      concurrency: config.concurrency,
      prefetch,
      maxWaitMs,
      ...claimCaps(config.concurrency, 0, config.projectSharePercent),
    },
    (delivery) => send(delivery),
    (delivery) => leftToLease(delivery, 'waited too long for a slot'),
  );
  // Deliveries this dispatcher holds in flight in the database at most: sending, answered with their
  // outcome still being written (UNWRITTEN_PER_SLOT per slot), and claimed ahead, waiting for a slot.
  const maxHeld = (1 + UNWRITTEN_PER_SLOT) * config.concurrency + prefetch;
  const claimProjectCaps = claimCaps(config.concurrency, prefetch, config.projectSharePercent);
  // Room one project alone may not take (kept for newcomers): waiting for a batch worth beyond
  // it avoids a claim per finished delivery while a lone project sits at its cap. Projects past
  // their newcomer quota never take it, however many of them there are (send-slots.ts).
  const reserve = config.concurrency + prefetch - claimProjectCaps.projectSolo;
  const limits = {
    slowEndpointMaxInFlight: config.endpointMaxInFlight,
    // Counted in the database, so it includes every delivery this dispatcher holds (see maxHeld).
    fastEndpointMaxInFlight: config.fastEndpointMaxInFlight ?? maxHeld,
    slowAfterMs: config.slowEndpointAfterMs,
    timeoutsForOneSlot: SLOW_AFTER_TIMEOUTS,
    // Counted against what a project holds here, sending or waiting (see send-slots.ts).
    ...claimProjectCaps,
    newcomerQuota: newcomerQuotaOf(reserve),
    inFlightByProject: slots.held,
  };
  const refillAt = Math.max(1, Math.min(config.batchSize, Math.floor(config.concurrency / 4)));
  let running = false;
  let claiming = false;
  let kickAgain = false;
  let lastClaimEmpty = false;
  // The last claim came back short while this worker had deliveries in flight: fairness caps
  // (not an empty queue) may have held it back, so finishing deliveries must claim again.
  let lastClaimCapped = false;
  let pollTimer: NodeJS.Timeout | null = null;
  let windowTimer: NodeJS.Timeout | null = null;
  let maintenanceTimer: NodeJS.Timeout | null = null;
  let maintaining: Promise<void> | null = null;
  let unsubscribe: (() => Promise<void>) | null = null;
  let idleWaiters: Array<() => void> = [];
  let cachedWindow: { value: QueueWindow; readAt: number } | null = null;
  // Bumped by every wakeup: a read that was under way when one came is not cached.
  let windowGeneration = 0;

  async function queueWindow(): Promise<QueueWindow> {
    if (cachedWindow && performance.now() - cachedWindow.readAt < QUEUE_WINDOW_REUSE_MS) return cachedWindow.value;
    const readAt = performance.now();
    const generation = windowGeneration;
    const value = await readQueueWindow(options.db);
    if (generation === windowGeneration) cachedWindow = { value, readAt };
    return value;
  }

  function settleIdle() {
    if (inFlight.size === 0 && !claiming && lastClaimEmpty) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** Claims while there are free slots and due work; re-entrant calls are folded into one. */
  async function kick(): Promise<void> {
    if (!running) return;
    if (claiming) {
      kickAgain = true;
      return;
    }
    claiming = true;
    try {
      do {
        kickAgain = false;
        while (running) {
          const free = freeSlots();
          if (free <= 0) break;
          const limit = Math.min(config.batchSize, free);
          // Before the claim is sent: its leases start after this, so a deadline from here is safe
          // whatever happens (a pause, a slow answer) before its rows reach this process.
          const claimSentAt = performance.now();
          const { deliveries: claimed, parked } = await claimDue(options.db, {
            window: await queueWindow(),
            limit,
            freeNow: slots.freeAhead(),
            beyondRoom: Math.max(0, free - reserve),
            leaseMs: config.leaseMs,
            owner: workerId,
            limits,
          });
          lastClaimEmpty = claimed.length === 0;
          // Deliveries still in flight in the database (answered ones whose outcome is being written
          // count against their endpoint's cap too): once they finish, claim again.
          lastClaimCapped = claimed.length < limit && inFlight.size > 0;
          for (const delivery of claimed) track(delivery, claimSentAt);
          // A claim that parked FIFO rows read only so far into its endpoints' queues: due work may
          // wait behind what it parked, and nothing else would wake this loop for it.
          if (claimed.length < limit && parked === 0) break;
        }
      } while (kickAgain && running);
    } catch (error) {
      logger.error({ err: error }, 'claiming deliveries failed; will retry on the next poll');
    } finally {
      claiming = false;
      settleIdle();
    }
  }

  /** What a claim may take: free slots (a slot is a request not answered yet) and room to wait for one. */
  function freeSlots(): number {
    // A delivery whose answer is being written holds no slot, but at most UNWRITTEN_PER_SLOT per
    // slot wait at once: a slow database holds claiming back instead of piling up outcomes.
    return Math.min(slots.claimable(), maxHeld - inFlight.size - slots.waitingCount);
  }

  /**
   * Freed slots may have due work waiting behind them; refill once a batch worth is free, since
   * one claim per slot is the slowest way to claim (or when nothing is left in flight).
   */
  function refill() {
    const wanted = lastClaimCapped ? refillAt + reserve : refillAt;
    if ((!lastClaimEmpty || lastClaimCapped) && (freeSlots() >= wanted || inFlight.size === 0)) void kick();
  }

  /** When the claim of each claimed delivery was sent (`performance.now()`): it must start within `maxWaitMs`. */
  const claimedAt = new WeakMap<ClaimedDelivery, number>();

  /** A claimed delivery: sent now, or once a slot frees (send-slots.ts). */
  function track(delivery: ClaimedDelivery, claimSentAt: number) {
    claimedAt.set(delivery, claimSentAt);
    slots.add(delivery, { front: delivery.endpoint.rateLimited });
  }

  /** A delivery that started too late for its lease (see `NotSentInTime`): no attempt, no outcome. */
  function leftToLease(delivery: ClaimedDelivery, why: string) {
    metrics.recordOutcome('lease_expired_waiting');
    logger.warn({ deliveryId: delivery.id }, `claimed delivery ${why}: left to its lease`);
  }

  function send(delivery: ClaimedDelivery) {
    let answered = false;
    // The slot goes back once the receiver has answered, not once the outcome is committed: the
    // write waits for the group commit (~7 ms under load against ~3 ms for the request), and a
    // slot held through it idled for that long.
    const release = () => {
      if (answered) return;
      answered = true;
      slots.answered(delivery);
      refill();
    };
    const work = deliver(delivery, release);
    inFlight.add(work);
    void work.finally(() => {
      inFlight.delete(work);
      release();
      // Written: one less delivery counts against its endpoint's cap, and against freeSlots.
      refill();
      settleIdle();
    });
  }

  async function deliver(delivery: ClaimedDelivery, answered: () => void): Promise<void> {
    try {
      // Waited for a slot: sent to its endpoint as it is now (deleted since: its row is gone too),
      // with its event's payload as it is now (an erasure since rewrote it).
      const claimed = claimedAt.get(delivery) ?? performance.now();
      // Sending at once (nearly always): no read, and no await on the hot path.
      const endpoint = freshness.isFresh(claimed) ? 'fresh' : await freshness.refresh(delivery);
      if (endpoint === 'gone') {
        metrics.recordOutcome('endpoint_deleted');
        return;
      }
      if (endpoint === 'unknown') {
        leftToLease(delivery, "could not read its endpoint's configuration or its event's payload");
        return;
      }
      if (delivery.endpoint.disabled) {
        await failWithoutSending(options.db, delivery, workerId, 'endpoint_disabled');
        metrics.recordOutcome('endpoint_disabled');
        return;
      }
      if (delivery.payloadExpired) {
        // Never a webhook with `{}` for data: requeue and recovery leave these alone, this is the backstop.
        await failWithoutSending(options.db, delivery, workerId, 'payload_expired');
        logger.warn({ deliveryId: delivery.id }, 'delivery of an event whose payload expired: failed unsent');
        return;
      }
      const secrets = secretBox.openAll(delivery.secrets, delivery.endpoint.id);
      if (!secrets) {
        // Left to its lease, not failed: another dispatcher that holds the key (a fleet part way
        // through a change of configuration) takes it then, as does this one once its key is set.
        // Meanwhile it stays queued (its day kept from retention); a secret no key opens goes
        // with a rotation of it (`graceSeconds: 0`).
        metrics.recordOutcome('secret_unreadable');
        logger.warn(
          { deliveryId: delivery.id, endpointId: delivery.endpoint.id },
          'delivery not sent: its endpoint has a signing secret sealed under a key this dispatcher does not hold ' +
            '(HERALD_SECRET_KEY, HERALD_SECRET_KEY_PREVIOUS); left to its lease',
        );
        return;
      }
      const body = envelopeBody(delivery.event);
      const startedAt = new Date();
      const headers = webhookHeaders({
        eventId: delivery.event.id,
        body,
        secrets,
        sentAt: startedAt,
        endpointHeaders: delivery.endpoint.headers,
      });
      // Sent only while the lease surely holds: a process paused (or a socket pool full) past it
      // would otherwise send a delivery another dispatcher may have sent since, a FIFO subject's
      // earlier one after its later ones.
      const startBy = (claimedAt.get(delivery) ?? performance.now()) + maxWaitMs;
      const result = await sender
        .send({
          url: delivery.endpoint.url,
          headers,
          body,
          context: { deliveryId: delivery.id, endpointId: delivery.endpoint.id, projectId: delivery.projectId },
          startBy,
        })
        .catch((error: unknown) => {
          if (error instanceof NotSentInTime) return null;
          throw error;
        });
      if (!result) {
        leftToLease(delivery, 'was not begun before its deadline');
        return;
      }
      metrics.recordLatency(result.durationMs / 1000);
      answered();
      const { outcome, eventsEmitted } = await recorder.record({ delivery, result, startedAt });
      metrics.recordOutcome(outcome);
      if (eventsEmitted > 0) options.wakeup.notify();
      if (outcome !== 'succeeded') {
        logger.info(
          {
            deliveryId: delivery.id,
            endpointId: delivery.endpoint.id,
            outcome,
            status: result.statusCode,
            errorClass: result.errorClass,
          },
          'delivery attempt failed',
        );
      }
    } catch (error) {
      // The lease expires and another attempt follows: nothing is lost.
      logger.error({ err: error, deliveryId: delivery.id }, 'delivery could not be recorded');
    }
  }

  /** Recomputes where queued deliveries can be (`sql/queue-window.ts`); claims prune partitions with it. */
  async function refreshWindow() {
    let window: QueueWindow | null;
    try {
      window = await refreshQueueWindow(options.db);
      // Only the dispatcher that refreshed (the others skipped their turn) keeps the claim's statistics fresh.
      if (window) {
        const analyzed = await analyzeLaggingQueuePartitions(options.db, window);
        if (analyzed.length > 0) logger.debug({ partitions: analyzed }, 'analysed queue partitions');
      }
    } catch (error) {
      // Claims go on with the last window; what slipped below it waits for the next refresh.
      logger.warn({ err: error }, 'refreshing the queue window failed; will retry');
      return;
    }
    if (!window) return;
    try {
      const parked = await parkBlockedFifoFollowers(options.db, window);
      if (parked > 0) logger.debug({ parked }, 'parked FIFO deliveries behind a retry');
    } catch (error) {
      // Claims still order them (they read each one until the next run parks it).
      logger.warn({ err: error }, 'parking FIFO deliveries behind a retry failed; will retry');
    }
  }

  /** Partitions ahead and retention; another dispatcher holding the lock makes this a no-op. */
  function maintain() {
    if (!running || maintaining) return;
    maintaining = runMaintenance(options.db, {
      retentionMs: config.retentionMs,
      payloadRetentionMs: config.payloadRetentionMs,
      partitionsAheadDays: config.partitionsAheadDays,
      secrets: secretBox,
      logger,
    })
      .then(() => {})
      .catch((error: unknown) => logger.error({ err: error }, 'history maintenance failed; will retry'))
      .finally(() => {
        maintaining = null;
      });
  }

  return {
    workerId,
    metrics,
    async start() {
      if (running) return;
      running = true;
      unsubscribe = await options.wakeup.subscribe(() => {
        cachedWindow = null; // see QUEUE_WINDOW_REUSE_MS
        windowGeneration += 1;
        void kick();
      });
      await refreshWindow();
      pollTimer = setInterval(() => void kick(), config.pollIntervalMs);
      pollTimer.unref?.();
      windowTimer = setInterval(() => void refreshWindow(), QUEUE_WINDOW_REFRESH_MS);
      windowTimer.unref?.();
      if (config.maintenanceIntervalMs > 0) {
        maintenanceTimer = setInterval(maintain, config.maintenanceIntervalMs);
        maintenanceTimer.unref?.();
        maintain();
      }
      void kick();
    },
    async stop() {
      running = false;
      // Claimed but not sent: given back with the other unused leases below (again once the last
      // claim has returned).
      slots.clear();
      if (pollTimer) clearInterval(pollTimer);
      pollTimer = null;
      if (windowTimer) clearInterval(windowTimer);
      windowTimer = null;
      if (maintenanceTimer) clearInterval(maintenanceTimer);
      maintenanceTimer = null;
      await maintaining;
      await unsubscribe?.().catch(() => {});
      unsubscribe = null;
      while (claiming) await new Promise((r) => setTimeout(r, 5));
      slots.clear();
      await Promise.allSettled([...inFlight]);
      await releaseLeases(options.db, workerId).catch(() => 0);
      await sender.close();
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const resolve of waiters) resolve();
    },
    idle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        settleIdle();
      });
    },
  };
}
