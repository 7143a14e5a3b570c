import { eventJsonSchemas, eventTypes } from '@herald/events';
import { z } from 'zod';
import { httpStatusFor } from '../errors';
import { restProcedures } from './procedures';

type JsonSchema = Record<string, unknown>;

export const API_VERSION = '0.1.0';

/** JSON Schema for OpenAPI 3.1 (draft 2020-12), inlined, without the `$schema` marker. */
function toSchema(schema: unknown, io: 'input' | 'output'): JsonSchema {
  const json = z.toJSONSchema(schema as z.ZodType, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  delete json.$schema;
  return json;
}

const errorSchema: JsonSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', enum: Object.keys(httpStatusFor) },
        message: { type: 'string' },
        details: {},
      },
    },
  },
};

const errorResponses = {
  '400': 'Invalid input',
  '401': 'Missing, unknown or revoked credentials',
  '404': 'Not found in this project',
  '409': 'Conflict',
  '413': 'Body too large',
  '415': 'Body is not JSON',
  '422': 'Idempotency-Key reused with another body',
  '429': 'Rate limited',
};

const signatureHeaders = [
  { name: 'webhook-id', description: 'Event id; the same on every retry and every endpoint. Use it to deduplicate.' },
  { name: 'webhook-timestamp', description: 'Unix seconds when this attempt was signed. Reject values more than 5 minutes away.' },
  {
    name: 'webhook-signature',
    description: 'Space-separated `v1,<base64 HMAC-SHA256>` of `id.timestamp.body`, one per active secret (several during rotation).',
  },
].map((h) => ({ in: 'header', required: true, schema: { type: 'string' }, ...h }));

export function buildOpenApiDocument(serverUrl = '/') {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const { path, procedure, openapi, pathParams } of restProcedures()) {
    const inputParser = procedure._def.inputs[0];
    const input = inputParser ? toSchema(inputParser, 'input') : { type: 'object', properties: {} };
    const properties = { ...((input.properties as Record<string, JsonSchema> | undefined) ?? {}) };
    const required = new Set((input.required as string[] | undefined) ?? []);
    const parameters: unknown[] = pathParams.map((name) => ({
      name,
      in: 'path',
      required: true,
      schema: properties[name] ?? { type: 'string' },
    }));
    for (const name of pathParams) {
      delete properties[name];
      required.delete(name);
    }
    const operation: Record<string, unknown> = {
      operationId: path.replace(/\.(\w)/g, (_, c: string) => c.toUpperCase()),
      summary: openapi.summary,
      tags: openapi.tags,
      security: [{ [openapi.auth === 'admin' ? 'adminToken' : 'apiKey']: [] }],
      parameters,
    };
    if (openapi.method === 'POST' || openapi.method === 'PATCH') {
      parameters.push({
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        schema: { type: 'string', maxLength: 255 },
        description: 'Retry-safe POSTs: the same key and body replay the first response for 24 h.',
      });
      const body: JsonSchema = { ...input, properties, ...(required.size > 0 ? { required: [...required] } : {}) };
      if (required.size === 0) delete body.required;
      operation.requestBody = { required: required.size > 0, content: { 'application/json': { schema: body } } };
    } else {
      for (const [name, schema] of Object.entries(properties)) {
        parameters.push({ name, in: 'query', required: required.has(name), schema });
      }
    }
    const success = String(openapi.successStatus ?? 200);
    const outputParser = (procedure._def as { output?: unknown }).output;
    const output = outputParser ? toSchema(outputParser, 'output') : {};
    operation.responses = {
      [success]: { description: 'Success', content: { 'application/json': { schema: output } } },
      ...Object.fromEntries(
        Object.entries(errorResponses).map(([status, description]) => [
          status,
          { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        ]),
      ),
    };
    const openapiPath = `/v1${openapi.path}`;
    paths[openapiPath] = { ...paths[openapiPath], [openapi.method.toLowerCase()]: operation };
  }

  const eventSchemas = eventJsonSchemas();
  const webhooks = Object.fromEntries(
    eventTypes.map((type) => {
      const entry = eventSchemas[type];
      const { $schema: _dialect, ...envelope } = entry.envelope as JsonSchema;
      return [
        type,
        {
          post: {
            operationId: `webhook_${type.replace(/\./g, '_')}`,
            summary: type,
            description: `${entry.description} Signed with Standard Webhooks; respond 2xx within 15 s.`,
            tags: ['Webhooks'],
            parameters: signatureHeaders,
            requestBody: { required: true, content: { 'application/json': { schema: envelope } } },
            responses: {
              '2XX': { description: 'Accepted. Any other status (including 3xx) is a failure and is retried.' },
              '410': { description: 'Gone: Herald disables the endpoint.' },
            },
          },
        },
      ];
    }),
  );

  return {
    openapi: '3.1.0',
    info: {
      title: 'Herald API',
      version: API_VERSION,
      description: 'Users, logins, events and webhooks. Every route is also a tRPC procedure at `/trpc`.',
    },
    servers: [{ url: serverUrl }],
    tags: [...new Set(restProcedures().flatMap((p) => p.openapi.tags))].map((name) => ({ name })),
    paths,
    webhooks,
    components: {
      schemas: { Error: errorSchema },
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'A project API key (`sk_…`).' },
        adminToken: { type: 'http', scheme: 'bearer', description: 'The operator token `HERALD_ADMIN_TOKEN`.' },
      },
    },
  };
}

export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>;
