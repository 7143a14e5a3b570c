import { idPattern } from '@herald/db';
import { listenReportAnswerSchema, listenReportSchema } from './listen-routes';

type JsonSchema = Record<string, unknown>;

/** What `buildOpenApiDocument` lends: its schema converter and its error answers by status. */
export interface ListenOpenApiParts {
  convert(schema: unknown, io: 'input' | 'output'): JsonSchema;
  errors(statuses: string[]): Record<string, unknown>;
}

const endpointIdParameter = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: idPattern('endpoint').source },
};

/**
 * `herald listen`'s two routes (listen-routes.ts), written by hand: they are plain Hono routes,
 * not procedures, so the document's loop over procedures never saw them.
 */
export function listenPaths(parts: ListenOpenApiParts): Record<string, Record<string, unknown>> {
  return {
    '/v1/endpoints/{id}/listen': {
      get: {
        operationId: 'endpointsListen',
        summary: "Stream a listen endpoint's deliveries (server-sent events; what `herald listen` reads)",
        description:
          "A `text/event-stream` that stays open: `session` first (`{ session, endpointId }`: the stream's " +
          'lease owner, to quote in reports), then one `delivery` per delivery claimed for this endpoint ' +
          '(its signed body and headers, to forward as they are), `gone` when the endpoint is deleted, ' +
          '`error` when the stream ends otherwise (the API key was revoked, say). A comment every 15 s ' +
          'keeps it alive. Deliveries not reported when it closes are due again at once. At most 4 streams ' +
          'per endpoint and 16 per project are open at once per API process (429 with `Retry-After`). ' +
          'Only `listen` endpoints (`POST /v1/endpoints/listen`): another kind answers 409.',
        tags: ['Endpoints'],
        security: [{ apiKey: [] }],
        parameters: [endpointIdParameter],
        responses: {
          '200': {
            description: 'The stream of server-sent events',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          ...parts.errors(['400', '401', '404', '409', '429', '431', '500', '503']),
        },
      },
    },
    '/v1/endpoints/{id}/listen/attempts': {
      post: {
        operationId: 'endpointsListenAttempts',
        summary: 'Report what the local receiver answered to a delivery from a listen stream',
        description:
          "Recorded as the delivery's attempt, with retries as in production. 409 once the stream named by " +
          '`session` no longer holds the delivery (its lease ended: it will be sent again).',
        tags: ['Endpoints'],
        security: [{ apiKey: [] }],
        parameters: [endpointIdParameter],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: parts.convert(listenReportSchema, 'input') } },
        },
        responses: {
          '200': {
            description: 'Recorded',
            content: { 'application/json': { schema: parts.convert(listenReportAnswerSchema, 'output') } },
          },
          ...parts.errors(['400', '401', '404', '409', '413', '415', '429', '431', '500', '503']),
        },
      },
    },
  };
}
