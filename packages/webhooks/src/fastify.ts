import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { HeraldEvent } from './event';
import { resolveOptions, type WebhookOptions } from './options';
import { type ReceivedWebhook, receive } from './receive';
import { rejection, rejectionBody, type WebhookRejection } from './rejection';

export interface FastifyEventContext {
  webhook: ReceivedWebhook;
  request: FastifyRequest;
  reply: FastifyReply;
}

export type FastifyWebhookOptions = WebhookOptions & {
  /** Path of the route inside the plugin's prefix. Default `/`. */
  path?: string;
  /**
   * Called once per verified delivery. Answer with `reply` yourself, or leave it for
   * `200 {"received":true}`. Throw (or answer non-2xx) to have Herald retry the delivery later.
   */
  onEvent(event: HeraldEvent, context: FastifyEventContext): void | Promise<void>;
  /** Called before a refused request is answered (log it, count it); the answer itself is fixed. */
  onRejected?(
    rejection: WebhookRejection,
    context: { request: FastifyRequest; reply: FastifyReply },
  ): void | Promise<void>;
};

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
/** A media type as RFC 9110 writes one: `type/subtype`, then `; name=value` parameters. */
const MEDIA_TYPE = new RegExp(
  `^${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|"(?:[^"\\\\]|\\\\.)*"))*[ \\t]*$`,
);

/**
 * A Fastify plugin with one POST route:
 * `app.register(heraldWebhook({ secret, onEvent }), { prefix: '/webhooks/herald' })`.
 *
 * Register it as is (not through `fastify-plugin`): its body parser, which keeps every content
 * type as the raw Buffer, then stays inside the plugin and the rest of the app keeps parsing JSON.
 */
export function heraldWebhook(options: FastifyWebhookOptions): FastifyPluginAsync {
  const resolved = resolveOptions(options);
  return async (instance) => {
    // The signature covers the bytes as sent, so no parser may touch them; scoped to this plugin.
    instance.removeAllContentTypeParsers();
    // Fastify refuses a Content-Type it cannot parse (none given but the header, a bare word, a list)
    // with 415 before any parser runs, so the kit would answer `invalid_payload` without checking the
    // signature: a signed delivery refused for good, an unsigned request reported as a bad body. The
    // signature covers the bytes whatever their type, so such a header is dropped for this plugin's
    // route, and Fastify reads the body as it does one sent without a type.
    instance.addHook('onRequest', async (request) => {
      const type = request.headers['content-type'];
      if (type !== undefined && !MEDIA_TYPE.test(type)) delete request.headers['content-type'];
    });
    instance.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: resolved.maxBodyBytes },
      (_request, body, done) => done(null, body),
    );

    const refuse = async (refusal: WebhookRejection, request: FastifyRequest, reply: FastifyReply) => {
      await options.onRejected?.(refusal, { request, reply });
      return reply.code(refusal.status).send(rejectionBody(refusal));
    };

    // Body-reading errors (too large, broken stream) answer in the kit's shape; the handler's own go up.
    instance.setErrorHandler(async (error: FastifyError, request, reply) => {
      // `code` is whatever the handler's error carries (a number for gRPC-style errors): only
      // Fastify's own body-parsing codes are ours.
      if (typeof error?.code !== 'string' || !error.code.startsWith('FST_ERR_CTP_')) throw error;
      return error.statusCode === 413
        ? refuse(
            rejection('payload_too_large', `The body is larger than ${resolved.maxBodyBytes} bytes`),
            request,
            reply,
          )
        : refuse(rejection('invalid_payload', 'The request body could not be read'), request, reply);
    });

    instance.post(options.path ?? '/', async (request, reply) => {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const result = receive(body, request.headers, resolved);
      if (!result.ok) return refuse(result.rejection, request, reply);
      await options.onEvent(result.event, { webhook: result.webhook, request, reply });
      return reply.sent ? reply : reply.code(200).send({ received: true });
    });
  };
}
