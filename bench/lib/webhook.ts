/**
 * One webhook as the dispatcher builds and sends it, for the baselines that
 * send without Herald (the bare loops, the job-queue peers): the same sender
 * options and the same signed ~1 KB body.
 */
import { createWebhookSender, envelopeBody, USER_AGENT, webhookHeaders } from '@herald/delivery';

/** The sender the dispatcher builds for itself, same options. */
export function bareSender() {
  return createWebhookSender({
    timeoutMs: 15_000,
    maxResponseBytes: 4096,
    allowPrivateNetworks: true,
    userAgent: USER_AGENT,
  });
}

/** JSON-encode and sign one ~1 KB message, as the dispatcher does per delivery. */
export function signedMessage(id: string, secret: string, data: unknown) {
  const body = envelopeBody({ id, type: 'user.created', version: 1, data, createdAt: new Date() });
  return { headers: webhookHeaders({ eventId: id, body, secrets: [secret], sentAt: new Date() }), body };
}
