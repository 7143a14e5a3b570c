import { heraldWebhook } from '@herald/webhooks/hono';
import { Hono } from 'hono';
import { inboxSubjectOfBody } from './herald-event';
import type { LiveTimeline } from './live-timeline';
import type { InboxStore } from './store';

export interface WebhookRouteOptions {
  inbox: InboxStore;
  timeline: LiveTimeline;
  /** Every secret currently valid for the endpoint (several while one is rotated). */
  secrets: readonly string[];
  toleranceSeconds?: number;
  now: () => Date;
  /** Called once a new delivery is stored. */
  onEnqueued(): void;
}

/** Header values are attacker-controlled until verified: keep only a short prefix for display. */
const shortHeader = (value: string | undefined) => (value ? value.slice(0, 100) : null);

/**
 * POST /webhooks/herald: `@herald/webhooks` verifies the raw body and parses the event
 * (401 for a wrong signature, 400 for a stale timestamp or a malformed body); this route
 * stores the body as signed (deduplicating on webhook-id) and acknowledges. The follow-up
 * runs later from the inbox, so the answer never waits on the Herald API.
 */
export function createWebhookRoute(options: WebhookRouteOptions) {
  const route = new Hono();
  route.post(
    '/webhooks/herald',
    heraldWebhook({
      secrets: options.secrets,
      now: options.now,
      ...(options.toleranceSeconds === undefined ? {} : { tolerance: options.toleranceSeconds }),
      async onRejected(rejection, { c }) {
        await options.timeline.record({
          kind: 'webhook',
          webhookId: shortHeader(c.req.header('webhook-id')),
          ok: false,
          summary: `rejected: ${rejection.code}`,
          // Only a malformed body is refused after its signature checked out.
          detail: { verified: rejection.code === 'invalid_payload', error: rejection.code },
        });
      },
      async onEvent(event, { webhook, c }) {
        // Events of types this consumer does not know yet are stored too: they are acknowledged, never lost.
        const { duplicate } = await options.inbox.enqueue({
          webhookId: webhook.id,
          type: event.type,
          // Read from the body as the worker reads it, so a subject's jobs are filed under one key.
          subject: inboxSubjectOfBody(webhook.rawBody),
          body: webhook.rawBody,
        });
        options.timeline.countWebhookReceived();
        await options.timeline.record({
          kind: 'webhook',
          webhookId: webhook.id,
          eventType: event.type,
          subject: event.subject ?? null,
          sequence: event.subject === undefined ? null : (event.sequence ?? null),
          summary: duplicate ? 'verified, duplicate: acknowledged, not processed again' : 'verified, queued',
          detail: { verified: true, duplicate, eventId: event.id },
        });
        // After the entry above, so the page shows the webhook before its follow-up.
        if (!duplicate) options.onEnqueued();
        return c.json({ received: true, duplicate }, 200);
      },
    }),
  );
  return route;
}
