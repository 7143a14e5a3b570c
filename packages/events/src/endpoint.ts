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
    endpointId: 'ep_7Hc2LwQ9ZrT4mN1kV8sYb',
    url: 'https://hooks.example.com',
    reason: 'failing',
    disabledAt: '2025-04-02T03:12:45.000Z',
  },
  subject: (data) => data.endpointId,
});
