import type { NextFunction, Request, Response } from 'express';
import type { HeraldEvent } from './event';
import { resolveOptions, type WebhookOptions } from './options';
import { bodyWithinLimit, type RawBodyResult, readNodeBody } from './raw-body';
import { type ReceivedWebhook, receive } from './receive';
import { RAW_BODY_UNAVAILABLE_MESSAGE, rejection, rejectionBody, type WebhookRejection } from './rejection';

export interface ExpressEventContext {
  webhook: ReceivedWebhook;
  req: Request;
  res: Response;
}

export type ExpressWebhookOptions = WebhookOptions & {
  /**
   * Called once per verified delivery. Answer with `res` yourself, or leave it for `200 {"received":true}`.
   * Throw (or answer non-2xx) to have Herald retry the delivery later; errors go to `next(error)`.
   */
  onEvent(event: HeraldEvent, context: ExpressEventContext): void | Promise<void>;
  /** Called before a refused request is answered (log it, count it); the answer itself is fixed. */
  onRejected?(rejection: WebhookRejection, context: { req: Request; res: Response }): void | Promise<void>;
};

/**
 * Express middleware: `app.post('/webhooks/herald', heraldWebhook({ secret, onEvent }))`.
 *
 * Mount it where no JSON body parser has run: it reads the raw request stream itself. After
 * `express.raw()` or `express.text()` it uses their Buffer/string (give them a `limit` as large as
 * `maxBodyBytes`: theirs is 100 KB, and a 413 of theirs is an HTML page). After `express.json()` the
 * bytes are gone and re-serialising the object would not match the signature, so it answers
 * 500 `raw_body_unavailable` (Herald retries) instead of guessing: move the route above
 * `app.use(express.json())`, or exempt its path from the JSON parser.
 */
export function heraldWebhook(
  options: ExpressWebhookOptions,
): (req: Request, res: Response, next: NextFunction) => Promise<void> {
  const resolved = resolveOptions(options);
  return async (req, res, next) => {
    try {
      const raw = await rawBodyOf(req, resolved.maxBodyBytes);
      const result = raw.ok ? receive(raw.body, req.headers, resolved) : raw;
      if (!result.ok) {
        await options.onRejected?.(result.rejection, { req, res });
        // An oversized body may still be arriving: close instead of reading it all for keep-alive.
        if (result.rejection.status === 413) res.setHeader('connection', 'close');
        res.status(result.rejection.status).json(rejectionBody(result.rejection));
        return;
      }
      await options.onEvent(result.event, { webhook: result.webhook, req, res });
      if (!res.headersSent) res.status(200).json({ received: true });
    } catch (error) {
      next(error);
    }
  };
}

async function rawBodyOf(req: Request, limit: number): Promise<RawBodyResult> {
  const parsed: unknown = req.body;
  if (Buffer.isBuffer(parsed)) return bodyWithinLimit(parsed, limit);
  if (typeof parsed === 'string') return bodyWithinLimit(Buffer.from(parsed, 'utf8'), limit);
  // A body parser already ran (req.body is its object) or something else drained the stream.
  if ((parsed !== undefined && !skippedByExpress4Parser(req, parsed)) || req.readableEnded || req.readableDidRead) {
    return { ok: false, rejection: rejection('raw_body_unavailable', RAW_BODY_UNAVAILABLE_MESSAGE) };
  }
  return readNodeBody(req, limit);
}

/**
 * Express 4's body parsers set `req.body = {}` on a request they do not parse (another content
 * type: a global `express.urlencoded()` before the route), leaving the stream unread; one that
 * read it marks `req._body`. Such a body is still there to read. (Express 5's leave `req.body` unset.)
 */
function skippedByExpress4Parser(req: Request, parsed: unknown): boolean {
  return (
    (req as { _body?: unknown })._body !== true &&
    parsed !== null &&
    typeof parsed === 'object' &&
    Object.getPrototypeOf(parsed) === Object.prototype &&
    Object.keys(parsed).length === 0
  );
}
