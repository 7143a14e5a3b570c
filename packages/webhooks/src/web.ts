import type { HeraldEvent } from './event';
import { resolveOptions, type WebhookOptions } from './options';
import { readWebBody } from './raw-body';
import { type ReceivedWebhook, receive } from './receive';
import { RAW_BODY_UNAVAILABLE_MESSAGE, rejection, rejectionBody, type WebhookRejection } from './rejection';

export interface WebEventContext {
  webhook: ReceivedWebhook;
  request: Request;
}

export type WebWebhookOptions = WebhookOptions & {
  /**
   * Called once per verified delivery. Return nothing for `200 {"received":true}`, or your own Response.
   * Throw (or answer non-2xx) to have Herald retry the delivery later.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler that answers nothing itself returns void
  onEvent(event: HeraldEvent, context: WebEventContext): void | Response | Promise<void | Response>;
  /** Called before a refused request is answered (log it, count it); the answer itself is fixed. */
  onRejected?(rejection: WebhookRejection, context: { request: Request }): void | Promise<void>;
};

/**
 * A `(request: Request) => Promise<Response>` handler for Web-standard runtimes: Next.js route
 * handlers (`export const POST = heraldWebhook({...})`), Cloudflare Workers, Deno, Bun.
 * It reads the body itself, so do not read `request` before it.
 */
export function heraldWebhook(options: WebWebhookOptions): (request: Request) => Promise<Response> {
  const resolved = resolveOptions(options);
  return async (request) => {
    // Someone read the body before us: what is left cannot be checked against the signature.
    const raw = request.bodyUsed
      ? { ok: false as const, rejection: rejection('raw_body_unavailable', RAW_BODY_UNAVAILABLE_MESSAGE) }
      : await readWebBody(request.body, request.headers.get('content-length'), resolved.maxBodyBytes);
    const result = raw.ok ? receive(raw.body, request.headers, resolved) : raw;
    if (!result.ok) {
      await options.onRejected?.(result.rejection, { request });
      return Response.json(rejectionBody(result.rejection), { status: result.rejection.status });
    }
    const answer = await options.onEvent(result.event, { webhook: result.webhook, request });
    return answer instanceof Response ? answer : Response.json({ received: true }, { status: 200 });
  };
}
