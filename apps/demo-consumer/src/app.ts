import { randomBytes } from 'node:crypto';
import type { HeraldClient } from '@herald/client';
import { decodeSecret } from '@herald/signing';
import { Hono } from 'hono';
import { createActionsRoute } from './actions-route';
import { createEventsRoute } from './events-route';
import type { LockPolicy } from './follow-ups';
import { defaultLockPolicy, runFollowUp } from './follow-ups';
import type { InboxWorker } from './inbox-worker';
import { startInboxWorker } from './inbox-worker';
import type { ErrorReporter, LiveTimeline } from './live-timeline';
import { createLiveTimeline } from './live-timeline';
import { renderPage } from './page';
import { createPortalRoute } from './portal-route';
import { requireLocalHost, requireSameOrigin } from './request-guards';
import type { ConsumerStore } from './store';
import { createWebhookRoute } from './webhook-route';

export interface ConsumerAppOptions {
  store: ConsumerStore;
  heraldClient: HeraldClient;
  /** The endpoint's signing secrets (`whsec_…`); several are accepted while one is rotated. */
  secrets: readonly string[];
  /** Largest accepted clock difference for `webhook-timestamp`. Default 300 s. */
  toleranceSeconds?: number;
  /** The clock signatures are checked against (tests). */
  now?: () => Date;
  lockPolicy?: Partial<LockPolicy>;
  /** Inbox polling interval (retries fall due this way). Default 500 ms. */
  pollIntervalMs?: number;
  maxAttempts?: number;
  retryDelayMs?(attempts: number): number;
  /** Test hook: acknowledge and store, but never process (see `InboxWorkerOptions.holdJobs`). */
  holdJobs?: boolean;
  reportError?: ErrorReporter;
  /**
   * Host names, besides localhost, 127.0.0.1 and [::1], under which the page, its actions and the
   * portal link may be used (startConsumer adds the address it listens on).
   */
  allowedHosts?: readonly string[];
}

export interface ConsumerApp {
  /** The HTTP surface: webhook receiver, page, SSE stream, actions. */
  app: Hono;
  timeline: LiveTimeline;
  worker: InboxWorker;
  /** Stops the worker (after its current job) and ends open SSE streams. Does not close the store. */
  close(): Promise<void>;
}

const defaultReportError: ErrorReporter = (message, error) => console.error(`[demo-consumer] ${message}:`, error);

/**
 * A customer's backend for Herald webhooks. Starts its inbox worker at once,
 * which resumes any delivery an earlier run acknowledged but did not finish.
 */
export function createConsumerApp(options: ConsumerAppOptions): ConsumerApp {
  if (options.secrets.length === 0) throw new Error('createConsumerApp: at least one webhook secret is required');
  // A bad secret would reject every delivery; refuse it at start-up instead.
  for (const secret of options.secrets) decodeSecret(secret);

  const { store, heraldClient } = options;
  const reportError = options.reportError ?? defaultReportError;
  const now = options.now ?? (() => new Date());
  const timeline = createLiveTimeline(store.timeline, reportError, now);
  const lockPolicy: LockPolicy = { ...defaultLockPolicy, ...options.lockPolicy };
  const shutdown = new AbortController();

  const worker = startInboxWorker({
    inbox: store.inbox,
    timeline,
    reportError,
    process: (job) => runFollowUp(job, { heraldClient, userData: store.userData, timeline, lockPolicy }),
    ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
    ...(options.retryDelayMs ? { retryDelayMs: options.retryDelayMs } : {}),
    ...(options.holdJobs ? { holdJobs: true } : {}),
  });

  const app = new Hono();
  app.onError((error, c) => {
    reportError(`${c.req.method} ${c.req.path} failed`, error);
    return c.json({ error: { code: 'internal_error', message: 'Internal server error' } }, 500);
  });
  app.get('/', (c) => {
    const nonce = randomBytes(16).toString('base64');
    // Never framed: a page of another site could lay it, invisible, under a button of its own and
    // have the person's click run an action (a same-origin request, which the guards let through).
    c.header(
      'content-security-policy',
      `default-src 'self'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; frame-ancestors 'none'`,
    );
    c.header('x-frame-options', 'DENY');
    return c.html(renderPage(nonce));
  });
  // No icon to serve; answering keeps the browser console clean.
  app.get('/favicon.ico', (c) => c.body(null, 204));
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.route(
    '/',
    createWebhookRoute({
      inbox: store.inbox,
      timeline,
      secrets: options.secrets,
      now,
      onEnqueued: () => worker.wake(),
      ...(options.toleranceSeconds === undefined ? {} : { toleranceSeconds: options.toleranceSeconds }),
    }),
  );
  // Before the routes they guard: what acts with the API key, reveals a portal link or the timeline.
  const localHost = requireLocalHost(options.allowedHosts);
  for (const path of ['/actions/*', '/portal', '/events']) app.use(path, localHost);
  app.use('/actions/*', requireSameOrigin());
  app.route('/', createEventsRoute({ timeline, shutdown: shutdown.signal }));
  app.route('/', createActionsRoute({ heraldClient, timeline }));
  app.route('/', createPortalRoute({ heraldClient }));

  return {
    app,
    timeline,
    worker,
    async close() {
      shutdown.abort();
      await worker.stop();
    },
  };
}
