import { z } from 'zod';
import { defineEvent } from './define-event';
import { isoTimestampSchema, nonEmptyIdSchema } from './shared';

export const endpointDisabledReasonSchema = z
  .enum(['gone', 'failing'])
  .describe('`gone`: the endpoint answered 410 Gone. `failing`: deliveries kept failing.');

export const endpointDisabledV1 = defineEvent({
  type: 'endpoint.disabled',
  version: 1,
  description: 'Herald stopped delivering to an endpoint because it is gone or keeps failing.',
  schema: z.object({
    endpointId: nonEmptyIdSchema,
    url: z
      .url()
      .describe(
        "The endpoint's origin (scheme, host and port), without its path or query: those often hold the " +
          "receiver's credentials, and this event goes to the project's other endpoints.",
      ),
    reason: endpointDisabledReasonSchema,
    disabledAt: isoTimestampSchema,
  }),
  example: {
    // A well-formed endpoint id (@herald/db `newId('endpoint')`), as the API's endpoint routes accept.
    endpointId: 'ep_01jn8s7qg03xj6ghjezgxnff44',
    url: 'https://hooks.example.com',
    reason: 'failing',
    disabledAt: '2025-04-02T03:12:45.000Z',
  },
  subject: (data) => data.endpointId,
});
