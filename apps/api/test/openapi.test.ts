import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import SwaggerParser from '@apidevtools/swagger-parser';
import { eventTypes } from '@herald/events';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument, serializeOpenApiDocument, signatureHeaderNames } from '../src/rest/openapi';

const committedPath = fileURLToPath(new URL('../openapi.json', import.meta.url));
const checkSdkScript = fileURLToPath(new URL('../../../packages/client/scripts/check-sdk.mjs', import.meta.url));

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: unknown;
}
interface Operation {
  operationId?: string;
  security?: Record<string, unknown[]>[];
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Record<string, unknown> }> };
  responses?: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }>;
}

const methods = ['get', 'put', 'post', 'patch', 'delete'] as const;

function operations(document: ReturnType<typeof buildOpenApiDocument>) {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    methods.flatMap((method) => (item[method] ? [{ path, method, operation: item[method] as Operation }] : [])),
  );
}

describe('OpenAPI document', () => {
  const document = buildOpenApiDocument();

  describe('committed artifacts are fresh (CI fails when stale)', () => {
    it('apps/api/openapi.json equals the document built from the router', async () => {
      const committed = await readFile(committedPath, 'utf8').catch(() => '<missing>');
      expect(committed, 'apps/api/openapi.json is stale: run `pnpm generate` and commit the result').toBe(
        serializeOpenApiDocument(document),
      );
    });

    it('is serialized deterministically (pretty, trailing newline)', () => {
      const text = serializeOpenApiDocument(buildOpenApiDocument());
      expect(text).toBe(serializeOpenApiDocument(buildOpenApiDocument()));
      expect(text.endsWith('}\n')).toBe(true);
      expect(text.startsWith('{\n  "openapi": "3.1.0",')).toBe(true);
      expect(Object.keys(document.paths)).toEqual(Object.keys(document.paths).sort());
    });

    it('packages/client/src/sdk is what openapi-ts generates from it', async () => {
      const result = await promisify(execFile)(process.execPath, [checkSdkScript], { timeout: 60_000 }).then(
        (r) => ({ code: 0, output: r.stdout + r.stderr }),
        (error: { code?: number; stdout?: string; stderr?: string; message: string }) => ({
          code: error.code ?? 1,
          output: `${error.stdout ?? ''}${error.stderr ?? error.message}`,
        }),
      );
      expect(result.code, `${result.output}\nThe REST SDK is stale: run \`pnpm generate\` and commit the result`).toBe(
        0,
      );
    });
  });

  describe('validity', () => {
    it('passes @apidevtools/swagger-parser validation as OpenAPI 3.1', async () => {
      const validated = await SwaggerParser.validate(structuredClone(document) as never);
      expect((validated as { openapi?: string }).openapi).toBe('3.1.0');
      // The committed file (the SDK's input) too.
      await expect(SwaggerParser.validate(committedPath)).resolves.toBeTruthy();
    });

    it('the validator does reject a broken document', async () => {
      const broken = structuredClone(document) as Record<string, unknown>;
      delete broken.info;
      await expect(SwaggerParser.validate(broken as never)).rejects.toThrow();
      const badRef = structuredClone(document);
      (badRef.paths['/v1/users']!.post as Operation).responses!['400'] = {
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Nope' } } },
      };
      await expect(SwaggerParser.validate(badRef as never)).rejects.toThrow(/Nope/);
    });

    it('has no JSON Schema $defs left inline (they would resolve against the document root)', () => {
      expect(JSON.stringify(document)).not.toContain('"$defs"');
      expect(JSON.stringify(document)).not.toContain('#/$defs/');
    });
  });

  describe('paths', () => {
    const ops = operations(document);

    it('exposes the REST API under /v1', () => {
      expect(ops.length).toBeGreaterThan(5);
      for (const { path } of ops) expect(path).toMatch(/^\/v1\//);
      expect(ops.map((o) => `${o.method.toUpperCase()} ${o.path}`)).toEqual(
        expect.arrayContaining([
          'POST /v1/projects',
          'POST /v1/users',
          'GET /v1/users',
          'GET /v1/users/{id}',
          'PATCH /v1/users/{id}',
          'DELETE /v1/users/{id}',
          'GET /v1/events',
          // `herald listen`'s routes are plain Hono routes, added to the document by hand.
          'GET /v1/endpoints/{id}/listen',
          'POST /v1/endpoints/{id}/listen/attempts',
        ]),
      );
    });

    it('every operation has a unique operationId', () => {
      const ids = ops.map((o) => o.operation.operationId);
      for (const [i, id] of ids.entries())
        expect(id, `${ops[i]!.method} ${ops[i]!.path}`).toMatch(/^[a-zA-Z][a-zA-Z0-9]*$/);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('every operation is secured by a declared scheme', () => {
      const schemes = Object.keys(document.components.securitySchemes);
      for (const { path, method, operation } of ops) {
        expect(operation.security, `${method} ${path}`).toHaveLength(1);
        for (const requirement of operation.security!) {
          for (const scheme of Object.keys(requirement)) expect(schemes, `${method} ${path}`).toContain(scheme);
        }
      }
      const projects = document.paths['/v1/projects']!.post as Operation;
      expect(projects.security).toEqual([{ adminToken: [] }]);
      expect((document.paths['/v1/users']!.post as Operation).security).toEqual([{ apiKey: [] }]);
    });

    it('every operation documents a success response and the error body', () => {
      for (const { path, method, operation } of ops) {
        const statuses = Object.keys(operation.responses ?? {});
        expect(
          statuses.some((s) => /^2\d\d$/.test(s)),
          `${method} ${path}`,
        ).toBe(true);
        for (const status of ['400', '401', '404', '429', '500']) {
          const schema = operation.responses?.[status]?.content?.['application/json']?.schema;
          expect(schema, `${method} ${path} ${status}`).toEqual({ $ref: '#/components/schemas/ApiError' });
        }
      }
      expect(Object.keys((document.paths['/v1/users']!.post as Operation).responses!)).toContain('201');
    });

    it('declares every path parameter', () => {
      for (const { path, method, operation } of ops) {
        const declared = (operation.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
        const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        expect(declared.sort(), `${method} ${path}`).toEqual(inPath.sort());
        for (const p of (operation.parameters ?? []).filter((p) => p.in === 'path')) expect(p.required).toBe(true);
      }
    });

    it('describes request bodies for writes and query parameters for reads', () => {
      const create = document.paths['/v1/users']!.post as Operation;
      const body = create.requestBody?.content?.['application/json']?.schema;
      expect(body).toMatchObject({ type: 'object', required: ['email'] });
      expect(create.parameters).toContainEqual(
        expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false }),
      );
      // Requests with the admin token take no Idempotency-Key (400): not offered where it would fail.
      const createProject = document.paths['/v1/projects']!.post as Operation;
      expect((createProject.parameters ?? []).map((p) => p.name)).not.toContain('Idempotency-Key');
      const list = document.paths['/v1/users']!.get as Operation;
      expect(list.parameters!.map((p) => `${p.in}:${p.name}`)).toEqual(
        expect.arrayContaining(['query:limit', 'query:cursor']),
      );
      expect(list.requestBody).toBeUndefined();
    });

    it("states the API's limits: 20 custom headers at most, and the 405 and 408 every path may answer", () => {
      const create = document.paths['/v1/endpoints']!.post as Operation;
      const body = create.requestBody?.content?.['application/json']?.schema as { properties: Record<string, unknown> };
      expect(body.properties.headers).toMatchObject({ type: 'object', maxProperties: 20 });
      expect(document.info.description).toContain('405 (`method_not_allowed`)');
      expect(document.info.description).toContain('408 (`request_timeout`)');
    });
  });

  describe('webhooks', () => {
    const webhooks = document.webhooks as Record<string, { post?: Operation }>;

    it('has one webhook per event type, in catalog order', () => {
      expect(Object.keys(webhooks)).toEqual([...eventTypes]);
    });

    it.each([...eventTypes])('%s carries the signature headers and a payload schema', (type) => {
      const operation = webhooks[type]?.post;
      expect(operation).toBeDefined();
      expect(operation!.operationId).toBeTruthy();
      for (const name of signatureHeaderNames) {
        expect(operation!.parameters).toContainEqual(
          expect.objectContaining({
            name,
            in: 'header',
            required: true,
            schema: expect.objectContaining({ type: 'string' }),
          }),
        );
      }
      const schema = operation!.requestBody?.content?.['application/json']?.schema;
      expect(schema).toMatchObject({
        type: 'object',
        properties: {
          id: expect.any(Object),
          type: { const: type },
          timestamp: expect.any(Object),
          data: expect.any(Object),
        },
      });
      expect(schema!.required).toEqual(expect.arrayContaining(['id', 'type', 'timestamp', 'data']));
      expect(Object.keys(operation!.responses ?? {})).toContain('2XX');
    });
  });
});
