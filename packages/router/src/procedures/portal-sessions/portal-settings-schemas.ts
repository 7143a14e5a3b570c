import { z } from 'zod';

/**
 * One CSP source for `frame-ancestors`: a scheme and host (a leading `*.`
 * allowed), an optional port, nothing else. Quotes, spaces, commas and
 * semicolons are refused, so a setting can never add another directive.
 */
const FRAME_ANCESTOR = /^https?:\/\/(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d{1,5})?$/;

export const frameAncestorsSchema = z
  .array(z.string().max(200).regex(FRAME_ANCESTOR, 'must be an origin such as https://dashboard.example.com'))
  .max(20)
  .describe('Origins allowed to show the portal in a frame (CSP frame-ancestors); empty: none.');

export const portalSettingsSchema = z.object({ frameAncestors: z.array(z.string()) });
