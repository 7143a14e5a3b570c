import type { Context, Env } from 'hono';
import type { HeraldEvent } from './event';
import { resolveOptions, type WebhookOptions } from './options';
import { bodyWithinLimit, type RawBodyResult, readWebBody } from './raw-body';
import { type ReceivedWebhook, receive } from './receive';
import { RAW_BODY_UNAVAILABLE_MESSAGE, rejection, rejectionBody, type WebhookRejection } from './rejection';

export interface HonoEventContext<E extends Env = Env> {
  webhook: ReceivedWebhook;
  c: Context<E>;
}

export type HonoWebhookOptions<E extends Env = Env> = WebhookOptions & {
  /**
   * Called once per verified delivery. Return nothing for `200 {"received":true}`, or your own
   * Response (`c.json(...)`). Throw (or answer non-2xx) to have Herald retry the delivery later.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler that answers nothing itself returns void
  onEvent(event: HeraldEvent, context: HonoEventContext<E>): void | Response | Promise<void | Response>;
  /** Called before a refused request is answered (log it, count it); the answer itself is fixed. */
  onRejected?(rejection: WebhookRejection, context: { c: Context<E> }): void | Promise<void>;
};

/**
 * A Hono handler: `app.post('/webhooks/herald', heraldWebhook({ secret, onEvent }))`.
 * Reads the raw body itself (and leaves it cached, so later `c.req.text()` still works).
 */
export function heraldWebhook<E extends Env = Env>(
  options: HonoWebhookOptions<E>,
): (c: Context<E>) => Promise<Response> {
  const resolved = resolveOptions(options);
  return async (c) => {
    const raw = await rawBodyOf(c, resolved.maxBodyBytes);
    const result = raw.ok ? receive(raw.body, c.req.raw.headers, resolved) : raw;
    if (!result.ok) {
      await options.onRejected?.(result.rejection, { c });
      return c.json(rejectionBody(result.rejection), result.rejection.status);
    }
    const answer = await options.onEvent(result.event, { webhook: result.webhook, c });
    return answer instanceof Response ? answer : c.json({ received: true }, 200);
  };
}

// Hono keeps what a middleware already read in `c.req.bodyCache` (as promises). Bytes or text
// are the body as sent; anything else (a parsed JSON object) Hono would re-serialise, which
// breaks the signature, so it is refused rather than guessed at.
type CachedBodies = Record<string, Promise<unknown> | undefined>;

async function rawBodyOf(c: Context, limit: number): Promise<RawBodyResult> {
  const cache = c.req.bodyCache as unknown as CachedBodies;
  if (cache.arrayBuffer !== undefined)
    return bodyWithinLimit(new Uint8Array((await cache.arrayBuffer) as ArrayBuffer), limit);
  if (cache.text !== undefined) return bodyWithinLimit(Buffer.from((await cache.text) as string, 'utf8'), limit);
  if (c.req.raw.bodyUsed || Object.keys(cache).length > 0) {
    return { ok: false, rejection: rejection('raw_body_unavailable', RAW_BODY_UNAVAILABLE_MESSAGE) };
  }
  const read = await readWebBody(c.req.raw.body, c.req.header('content-length') ?? null, limit);
  if (read.ok) {
    const { buffer, byteOffset, byteLength } = read.body;
    cache.arrayBuffer = Promise.resolve(buffer.slice(byteOffset, byteOffset + byteLength));
  }
  return read;
}
