import type { endpoints } from '@herald/db';
import { endpointKinds, endpointOrderings } from '@herald/db';
import { customHeaderProblem, HEADER_NAME_PATTERN, HEADER_VALUE_PATTERN, vetUrl } from '@herald/delivery';
import { eventTypes } from '@herald/events';
import { z } from 'zod';
import { apiError } from '../../errors';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from '../../services/text';
import { checkedFirst, hasMoreKeysThan } from '../bounded-input';
import { HIDDEN_HEADER_VALUE } from '../deliveries/get-delivery-request';
import { idSchema } from '../id-schema';
import { withoutProtoKeys } from '../own-keys';

export const endpointIdSchema = idSchema('endpoint');

/**
 * Custom request headers: the sender's own rule (`customHeaderProblem` in @herald/delivery), so a
 * header stored here is a header every attempt sends. Names are RFC 9110 tokens and not one of
 * Herald's; values hold only what the sender can put on the wire (no CR/LF/NUL or other controls,
 * nothing above U+00FF), which is also text PostgreSQL can store.
 */
const TOO_MANY_HEADERS = 'at most 20 custom headers';
export const customHeadersSchema = checkedFirst(
  (value) => (hasMoreKeysThan(value, 20) ? TOO_MANY_HEADERS : null),
  withoutProtoKeys(
    z
      .record(
        // The patterns only document the rule in the OpenAPI document; superRefine enforces it, with a
        // message that says what is wrong.
        z.string().min(1).max(100).meta({ pattern: HEADER_NAME_PATTERN.source }),
        z.string().max(1000).meta({ pattern: HEADER_VALUE_PATTERN.source }),
      )
      .superRefine((headers, ctx) => {
        for (const [name, value] of Object.entries(headers)) {
          const problem =
            customHeaderProblem(name, value) ??
            // What a portal session, a delivery's request and a replayed answer show for a value:
            // stored, a read-modify-write of one of those would send it as the receiver's credential.
            (value === HIDDEN_HEADER_VALUE
              ? `"${HIDDEN_HEADER_VALUE}" stands for a hidden value; send the value itself`
              : null);
          if (problem) ctx.addIssue({ code: 'custom', path: [name], message: problem });
        }
      })
      .refine((h) => Object.keys(h).length <= 20, TOO_MANY_HEADERS)
      .meta({ maxProperties: 20 }),
  ),
);

export const endpointUrlInputSchema = z.string().max(2000).refine(isStorableText, UNSTORABLE_TEXT_MESSAGE);
export const endpointDescriptionSchema = z.string().max(500).refine(isStorableText, UNSTORABLE_TEXT_MESSAGE).nullable();

export const eventTypesFilterSchema = z.array(z.enum(eventTypes)).min(1).max(eventTypes.length).nullable();

/**
 * Endpoint URLs must be https and may not name a private address, unless
 * the operator allowed private networks. Hostnames are vetted again on
 * every delivery attempt, after DNS resolution.
 *
 * The reason is safe to name here, unlike at delivery time ('destination
 * refused' for every refusal): this check reads only the URL the tenant sent
 * (scheme, credentials, a literal IP's range, `localhost`) and never resolves
 * a name, so it tells the tenant nothing about the dispatcher's network.
 */
export function assertEndpointUrl(url: string, allowPrivateNetworks: boolean): string {
  const vetted = vetUrl(url, { allowPrivateNetworks });
  if (!vetted.ok) {
    const message = `URL refused: ${vetted.reason}`;
    throw apiError('validation_error', message, [{ path: 'url', message, code: 'url_refused' }]);
  }
  // Stored as the dispatcher reads it, so the API, the portal and every tool show the host it
  // actually contacts (`https:/\example.com/` is sent to https://example.com/). A URL already in
  // that form keeps its spelling, a bare origin without its `/` included.
  const { href } = vetted.url;
  return href === url || href === `${url}/` ? url : href;
}

export const endpointSchema = z.object({
  id: z.string(),
  url: z.string(),
  kind: z
    .enum(endpointKinds)
    .describe(
      '`http`: Herald sends its webhooks. `listen`: a `herald listen` development endpoint; its deliveries ' +
        'stream to the CLI (GET /v1/endpoints/{id}/listen), which forwards them to `url` on its own machine.',
    ),
  description: z.string().nullable(),
  eventTypes: z.array(z.string()).nullable(),
  headers: z.record(z.string(), z.string()),
  disabled: z.boolean(),
  disabledReason: z.string().nullable(),
  maxInFlight: z
    .number()
    .int()
    .nullable()
    .describe("Most requests in flight to this endpoint at once; null: the dispatcher's default."),
  ordering: z
    .enum(endpointOrderings)
    .describe(
      "`fifo`: one subject's events (one user's, say) are delivered one at a time in `sequence` order; " +
        'a delivery waiting for its retry holds back later events of its subject only. ' +
        '`none`: deliveries go out concurrently.',
    ),
  rateLimit: z
    .number()
    .int()
    .nullable()
    .describe('Most deliveries per second to this endpoint, across all dispatchers; null: no limit.'),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const orderingInputSchema = z.enum(endpointOrderings);
/** Deliveries per second; null removes the limit. */
export const rateLimitInputSchema = z.number().int().min(1).max(100_000).nullable();

/** A cap on concurrent requests to one endpoint (fair claiming); null restores the dispatcher's default. */
export const maxInFlightInputSchema = z.number().int().min(1).max(1000).nullable();

/**
 * An endpoint as the API answers it. A portal session (`apiKeyId` null: the project's customer in
 * a browser) sees its custom headers' names, not their values, as the delivery log shows them: they
 * often hold the receiver's credentials, and the portal never edits them.
 */
export function toEndpoint(
  row: typeof endpoints.$inferSelect,
  caller: { apiKeyId?: string | null } = {},
): z.infer<typeof endpointSchema> {
  const headers =
    caller.apiKeyId === null
      ? Object.fromEntries(Object.keys(row.headers).map((name) => [name, HIDDEN_HEADER_VALUE]))
      : row.headers;
  return {
    id: row.id,
    url: row.url,
    kind: row.kind,
    description: row.description,
    eventTypes: row.eventTypes,
    headers,
    disabled: row.disabled,
    disabledReason: row.disabledReason,
    maxInFlight: row.maxInFlight,
    ordering: row.ordering,
    rateLimit: row.rateLimit,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
