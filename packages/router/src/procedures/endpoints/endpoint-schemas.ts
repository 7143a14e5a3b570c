import type { endpoints } from '@herald/db';
import { vetUrl } from '@herald/delivery';
import { eventTypes } from '@herald/events';
import { z } from 'zod';
import { apiError } from '../../errors';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from '../../services/text';
import { idSchema } from '../id-schema';

export const endpointIdSchema = idSchema('endpoint');

/** Headers Herald sets itself; an endpoint's custom headers may not replace them. */
const HERALD_HEADERS =
  'content-type|content-length|user-agent|host|connection|transfer-encoding|keep-alive|upgrade|te|trailer|expect';
const RESERVED_HEADER = new RegExp(`^(webhook-.*|proxy-.*|${HERALD_HEADERS})$`, 'i');

export const customHeadersSchema = z
  .record(
    z
      .string()
      .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/, 'not a valid header name')
      .refine((name) => !RESERVED_HEADER.test(name), 'this header is set by Herald'),
    z
      .string()
      .max(1000)
      .regex(/^[^\r\n\0]*$/, 'header values may not contain line breaks')
      .refine(isStorableText, UNSTORABLE_TEXT_MESSAGE),
  )
  .refine((h) => Object.keys(h).length <= 20, 'at most 20 custom headers');

export const endpointUrlInputSchema = z.string().max(2000).refine(isStorableText, UNSTORABLE_TEXT_MESSAGE);
export const endpointDescriptionSchema = z.string().max(500).refine(isStorableText, UNSTORABLE_TEXT_MESSAGE).nullable();

export const eventTypesFilterSchema = z.array(z.enum(eventTypes)).min(1).max(eventTypes.length).nullable();

/**
 * Endpoint URLs must be https and may not name a private address, unless
 * the operator allowed private networks. Hostnames are vetted again on
 * every delivery attempt, after DNS resolution.
 */
export function assertEndpointUrl(url: string, allowPrivateNetworks: boolean): string {
  const vetted = vetUrl(url, { allowPrivateNetworks });
  if (!vetted.ok) {
    const message = `URL refused: ${vetted.reason}`;
    throw apiError('validation_error', message, [{ path: 'url', message, code: 'url_refused' }]);
  }
  return url;
}

export const endpointSchema = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string().nullable(),
  eventTypes: z.array(z.string()).nullable(),
  headers: z.record(z.string(), z.string()),
  disabled: z.boolean(),
  disabledReason: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export function toEndpoint(row: typeof endpoints.$inferSelect): z.infer<typeof endpointSchema> {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    eventTypes: row.eventTypes,
    headers: row.headers,
    disabled: row.disabled,
    disabledReason: row.disabledReason,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
