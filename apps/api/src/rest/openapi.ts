import { eventJsonSchemas, eventTypes } from '@herald/events';
import { httpStatusFor } from '@herald/router';
import { z } from 'zod';
import { listenPaths } from '../listen/listen-openapi';
import { restProcedures } from './procedures';

type JsonSchema = Record<string, unknown>;

export const API_VERSION = '0.1.0';

/**
 * Converts zod schemas to JSON Schema for OpenAPI 3.1 (draft 2020-12),
 * inlined, without the `$schema` marker. Schemas zod puts under `$defs`
 * (recursive ones, e.g. `z.json()`) are hoisted into `components.schemas`:
 * inside an OpenAPI document `#/$defs/…` would resolve against the document
 * root, where there is no `$defs`.
 */
class SchemaConverter {
  /** Hoisted definitions by component name. */
  readonly components: Record<string, JsonSchema> = {};
  private readonly namesByContent = new Map<string, string>();

  convert(schema: unknown, io: 'input' | 'output'): JsonSchema {
    return this.hoist(
      z.toJSONSchema(schema as z.ZodType, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema,
    );
  }

  /** A copy of a JSON Schema without `$schema` and with its `$defs` moved to components. */
  hoist(schema: JsonSchema): JsonSchema {
    const { $schema: _dialect, ...json } = schema;
    const defs = json.$defs as Record<string, JsonSchema> | undefined;
    delete json.$defs;
    if (!defs) return json;
    // The same definition (by content) always gets the same component name.
    const renames = new Map<string, string>();
    for (const [local, def] of Object.entries(defs)) {
      const content = JSON.stringify(def);
      let name = this.namesByContent.get(content);
      if (!name) {
        name = isJsonValueSchema(def, local) ? 'JsonValue' : `Schema${this.namesByContent.size + 1}`;
        this.namesByContent.set(content, name);
      }
      renames.set(`#/$defs/${local}`, `#/components/schemas/${name}`);
    }
    const rewrite = (node: unknown): unknown => {
      if (Array.isArray(node)) return node.map(rewrite);
      if (!node || typeof node !== 'object') return node;
      return Object.fromEntries(
        Object.entries(node).map(([key, value]) => [
          key,
          key === '$ref' && typeof value === 'string' ? (renames.get(value) ?? value) : rewrite(value),
        ]),
      );
    };
    for (const [local, def] of Object.entries(defs)) {
      const name = renames.get(`#/$defs/${local}`)!.slice('#/components/schemas/'.length);
      this.components[name] ??= rewrite(def) as JsonSchema;
    }
    return rewrite(json) as JsonSchema;
  }
}

/** zod's `z.json()`: any JSON value, defined recursively. */
function isJsonValueSchema(def: JsonSchema, local: string): boolean {
  const self = { $ref: `#/$defs/${local}` };
  const expected = {
    anyOf: [
      { type: 'string' },
      { type: 'number' },
      { type: 'boolean' },
      { type: 'null' },
      { type: 'array', items: self },
      { type: 'object', propertyNames: { type: 'string' }, additionalProperties: self },
    ],
  };
  return JSON.stringify(def) === JSON.stringify(expected);
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
  '403':
    'Forbidden: not open to these credentials (a portal session outside the portal, a portal write without its CSRF header, a locked user signing in)',
  '404': 'Not found in this project',
  '409': 'Conflict',
  '413': 'Body too large',
  '415': 'Body is not JSON',
  '422': 'Idempotency-Key reused with another body',
  '429': 'Rate limited',
  '431': 'Request line and headers over 16 KB',
  '500': 'Internal server error',
  '503': 'Database unavailable (restarting or unreachable); retry after `Retry-After` seconds',
};

/** The error answers of these statuses, each with Herald's error body. */
function errorAnswers(statuses: string[]): Record<string, unknown> {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: errorResponses[status as keyof typeof errorResponses],
        content: { 'application/json': { schema: { $ref: '#/components/schemas/ApiError' } } },
      },
    ]),
  );
}

/** The Standard Webhooks headers on every webhook request. */
export const signatureHeaderNames = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;

const signatureHeaders = [
  {
    name: 'webhook-id',
    description: 'Event id; the same on every retry and every endpoint. Use it to deduplicate.',
    schema: { type: 'string', example: 'evt_01jd0000000000000000000000' },
  },
  {
    name: 'webhook-timestamp',
    description: 'Unix seconds when this attempt was signed. Reject values more than 5 minutes away.',
    schema: { type: 'string', pattern: '^[0-9]+$', example: '1735689600' },
  },
  {
    name: 'webhook-signature',
    description:
      'Space-separated `v1,<base64 HMAC-SHA256>` of `id.timestamp.body`, ' +
      'one per active secret (several during rotation).',
    schema: { type: 'string', example: 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=' },
  },
].map(({ name, description, schema }) => ({ name, in: 'header', required: true, description, schema }));

const methodOrder = ['get', 'put', 'post', 'patch', 'delete'];

export function buildOpenApiDocument(serverUrl = '/') {
  const schemas = new SchemaConverter();
  const paths: Record<string, Record<string, unknown>> = {};
  for (const { path, openapi, pathParams, inputSchema, outputSchema } of restProcedures()) {
    const input = inputSchema ? schemas.convert(inputSchema, 'input') : { type: 'object', properties: {} };
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
      // The idempotency middleware only looks at POSTs, made with an API key (an admin token's get 400).
      if (openapi.method === 'POST' && openapi.auth === 'apiKey') {
        parameters.push({
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          schema: { type: 'string', minLength: 1, maxLength: 255 },
          description: 'Retry-safe POSTs: the same key and body replay the first response for 24 h.',
        });
      }
      const body: JsonSchema = { ...input, properties, ...(required.size > 0 ? { required: [...required] } : {}) };
      if (required.size === 0) delete body.required;
      operation.requestBody = { required: required.size > 0, content: { 'application/json': { schema: body } } };
    } else {
      for (const [name, schema] of Object.entries(properties)) {
        parameters.push({ name, in: 'query', required: required.has(name), schema });
      }
    }
    const success = String(openapi.successStatus ?? 200);
    const output = outputSchema ? schemas.convert(outputSchema, 'output') : {};
    operation.responses = {
      [success]: { description: 'Success', content: { 'application/json': { schema: output } } },
      ...errorAnswers(Object.keys(errorResponses)),
    };
    const openapiPath = `/v1${openapi.path}`;
    paths[openapiPath] = { ...paths[openapiPath], [openapi.method.toLowerCase()]: operation };
  }
  Object.assign(paths, listenPaths({ convert: (schema, io) => schemas.convert(schema, io), errors: errorAnswers }));
  // Stable order, whatever order the router registers procedures in.
  const sortedPaths = Object.fromEntries(
    Object.keys(paths)
      .sort()
      .map((p) => [p, Object.fromEntries(methodOrder.flatMap((m) => (paths[p]![m] ? [[m, paths[p]![m]]] : [])))]),
  );

  const eventSchemas = eventJsonSchemas();
  const webhooks = Object.fromEntries(
    eventTypes.map((type) => {
      const entry = eventSchemas[type];
      const envelope = schemas.hoist(entry.envelope as JsonSchema);
      return [
        type,
        {
          post: {
            operationId: `webhook_${type.replace(/\./g, '_')}`,
            summary: type,
            description: `${entry.description} Signed with Standard Webhooks; respond 2xx within 15 s.`,
            tags: ['Webhooks'],
            // Authenticated by its signature (the webhook-* headers), not by an API credential.
            security: [],
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
      description:
        'Users, logins, events and webhooks. Every route is also a tRPC procedure at `/trpc`.\n\n' +
        'Every error answers with the `ApiError` body. Beyond the statuses each operation lists: a method ' +
        'a path does not have answers 405 (`method_not_allowed`) with `Allow`, and a request whose headers ' +
        'take over 10 s, or the whole request over 30 s, to arrive answers 408 (`request_timeout`).',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: serverUrl }],
    tags: [
      ...[...new Set(restProcedures().flatMap((p) => p.openapi.tags))].map((name) => ({ name })),
      { name: 'Webhooks', description: 'Requests Herald sends to your endpoints, one per event type.' },
    ],
    paths: sortedPaths,
    webhooks,
    components: {
      schemas: { ApiError: errorSchema, ...sortKeys(schemas.components) },
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'A project API key (`sk_…`).' },
        adminToken: { type: 'http', scheme: 'bearer', description: 'The operator token `HERALD_ADMIN_TOKEN`.' },
      },
    },
  };
}

export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>;

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The document as committed in `apps/api/openapi.json` (the SDK's input):
 * pretty-printed, keys in a deterministic order, trailing newline.
 */
export function serializeOpenApiDocument(document: OpenApiDocument = buildOpenApiDocument()): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
