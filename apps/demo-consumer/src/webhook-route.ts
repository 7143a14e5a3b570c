import type { WebhookVerificationErrorCode } from '@herald/signing';
import { verify } from '@herald/signing';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { parseEnvelope } from './herald-event';
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

/** Wrong or missing signature: the sender is not who it claims (401). Anything else is a bad request (400). */
function statusFor(code: WebhookVerificationErrorCode): 400 | 401 | 500 {
  if (code === 'no_matching_signature') return 401;
  // Our own secrets are unusable: a configuration fault, not the sender's.
  if (code === 'invalid_secret') return 500;
  return 400;
}

/** Header values are attacker-controlled until verified: keep only a short prefix for display. */
const shortHeader = (value: string | undefined) => (value ? value.slice(0, 100) : null);

/**
 * POST /webhooks/herald: verify the raw body, store it (deduplicating on
 * webhook-id), acknowledge. The follow-up runs later from the inbox, so the
 * answer never waits on the Herald API.
 */
export function createWebhookRoute(options: WebhookRouteOptions) {
  const route = new Hono();
  route.post('/webhooks/herald', bodyLimit({ maxSize: 1024 * 1024 }), async (c) => {
    // The signature covers the exact bytes sent: read them before any parsing.
    const rawBody = await c.req.text();
    const verification = verify(rawBody, c.req.raw.headers, options.secrets, {
      ...(options.toleranceSeconds === undefined ? {} : { toleranceSeconds: options.toleranceSeconds }),
      now: options.now(),
    });
    if (!verification.ok) {
      const { code, message } = verification.error;
      await options.timeline.record({
        kind: 'webhook',
        webhookId: shortHeader(c.req.header('webhook-id')),
        ok: false,
        summary: `rejected: ${code}`,
        detail: { verified: false, error: code },
      });
      return c.json({ error: { code, message } }, statusFor(code));
    }

    const envelope = parseEnvelope(verification.message.body);
    if (!envelope) {
      return c.json({ error: { code: 'invalid_payload', message: 'The body is not a Herald event envelope' } }, 400);
    }
    const webhookId = verification.message.id;
    const { duplicate } = await options.inbox.enqueue({
      webhookId,
      type: envelope.type,
      body: verification.message.body,
    });
    options.timeline.countWebhookReceived();
    await options.timeline.record({
      kind: 'webhook',
      webhookId,
      eventType: envelope.type,
      subject: envelope.subject ?? null,
      sequence: envelope.sequence ?? null,
      summary: duplicate ? 'verified, duplicate: acknowledged, not processed again' : 'verified, queued',
      detail: { verified: true, duplicate, eventId: envelope.id },
    });
    // After the entry above, so the page shows the webhook before its follow-up.
    if (!duplicate) options.onEnqueued();
    return c.json({ received: true, duplicate }, 200);
  });
  return route;
}
