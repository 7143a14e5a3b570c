import { randomBytes } from 'node:crypto';
import type { Database } from '@herald/db';
import { events } from '@herald/db';
import type { ApiConfig } from '@herald/router';
import { createApiServices, createCaller, createContext, defaultApiConfig } from '@herald/router';
import { and, eq, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { expect } from 'vitest';
import { z } from 'zod';
import type { CreateAppOptions } from '../src/app';
import { createApp } from '../src/app';

/**
 * The test harness: the real app on a real database, driven in-process with
 * `app.request()` (HTTP semantics, no socket) and `createCaller` (tRPC).
 * Every test makes its own tenant, so tests never see each other's rows.
 */

export const ADMIN_TOKEN = `admin_${randomBytes(16).toString('hex')}`;

export interface TestAppOptions {
  config?: Partial<ApiConfig>;
  logger?: Logger;
  wakeup?: CreateAppOptions['wakeup'];
  /** Rate-limit counts shared through the database, as API processes share them (default off). */
  sharedRateLimits?: boolean;
}

export type TestApp = ReturnType<typeof createTestApp>;

export function createTestApp(db: Database, options: TestAppOptions = {}) {
  const config: Partial<ApiConfig> = {
    adminToken: ADMIN_TOKEN,
    // High enough that only the rate-limit tests ever meet it.
    rateLimit: { requests: 100_000, windowSeconds: 1 },
    ...options.config,
  };
  const app = createApp({
    db,
    config,
    // Many apps share one test database, each its own process: counted alone unless a test shares.
    sharedRateLimits: options.sharedRateLimits ?? false,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.wakeup ? { wakeup: options.wakeup } : {}),
  });
  return { app, db, config };
}

/** `RequestInit` plus `json`: a value sent as a JSON body with its content type. */
export type TestRequestInit = RequestInit & { json?: unknown };

export function withJson(init: TestRequestInit = {}, authorization?: string): RequestInit {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (authorization && !headers.has('authorization')) headers.set('authorization', authorization);
  if (json !== undefined) {
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return { method: 'POST', ...rest, headers, body: JSON.stringify(json) };
  }
  return { ...rest, headers };
}

export interface Tenant {
  projectId: string;
  apiKey: string;
  apiKeyId: string;
  testApp: TestApp;
  /** `app.request` with this tenant's key; `json` becomes the body. */
  request(path: string, init?: TestRequestInit): Promise<Response>;
  /** The tRPC router called directly, as this tenant. */
  caller: ReturnType<typeof createCaller>;
}

const createdProjectSchema = z.object({
  project: z.object({ id: z.string() }),
  apiKey: z.object({ id: z.string(), key: z.string() }),
});

/**
 * A new project, made through the admin route as an operator would, with
 * its first API key. Pass `testApp` to share one app (and its rate-limit
 * counters and key cache) between tenants.
 */
export async function createTenant(
  db: Database,
  options: TestAppOptions & { testApp?: TestApp } = {},
): Promise<Tenant> {
  const testApp = options.testApp ?? createTestApp(db, options);
  const response = await testApp.app.request(
    '/v1/projects',
    withJson({ json: { name: `tenant ${randomBytes(4).toString('hex')}` } }, `Bearer ${ADMIN_TOKEN}`),
  );
  expect(response.status).toBe(201);
  const created = createdProjectSchema.parse(await response.json());
  return tenantFor(testApp, created.project.id, created.apiKey.key, created.apiKey.id);
}

/** A tenant view of an existing project through another of its keys. */
export function tenantFor(testApp: TestApp, projectId: string, apiKey: string, apiKeyId: string): Tenant {
  const authorization = `Bearer ${apiKey}`;
  const services = createApiServices(testApp.db, { config: { ...defaultApiConfig, ...testApp.config } });
  return {
    projectId,
    apiKey,
    apiKeyId,
    testApp,
    request: async (path, init) => testApp.app.request(path, withJson(init, authorization)),
    caller: createCaller(createContext({ headers: new Headers({ authorization }), db: testApp.db, services })),
  };
}

/** The one error body Herald answers with. */
export const apiErrorBodySchema = z.strictObject({
  error: z.strictObject({ code: z.string(), message: z.string().min(1), details: z.unknown().optional() }),
});

/** Asserts status and error code, and that the body has exactly the documented shape. */
export async function expectApiError(response: Response, status: number, code: string) {
  const text = await response.text();
  expect({ status: response.status, body: text }).toMatchObject({ status });
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  // Under /trpc the same error comes in tRPC's envelope, as `data.herald`.
  const json = JSON.parse(text) as { error?: { data?: { herald?: unknown } } };
  const body = apiErrorBodySchema.parse(json.error?.data?.herald ? { error: json.error.data.herald } : json);
  expect(body.error.code).toBe(code);
  return body.error;
}

/** Parses a JSON success body after checking the status. */
export async function expectJson<T = Record<string, unknown>>(response: Response, status: number): Promise<T> {
  const text = await response.text();
  expect({ status: response.status, body: text }).toMatchObject({ status });
  return JSON.parse(text) as T;
}

let emailCounter = 0;
/** A fresh address, unique within the run. */
export function uniqueEmail(label = 'user'): string {
  emailCounter += 1;
  return `${label}.${emailCounter}.${randomBytes(3).toString('hex')}@example.com`;
}

/**
 * Every (non-test) event of the tenant's project, oldest first, read through the API. The feed
 * serves an event once every older transaction on the server has ended, and other test files
 * write to the same server: wait (up to 10 s) until it shows every event the table holds.
 */
export async function eventsOf(tenant: Tenant, type?: string) {
  const [stored] = await tenant.testApp.db
    .select({ n: sql<number>`count(*)::int` })
    .from(events)
    .where(
      and(eq(events.projectId, tenant.projectId), eq(events.isTest, false), type ? eq(events.type, type) : undefined),
    );
  for (const deadline = Date.now() + 10_000; ; await new Promise((resolve) => setTimeout(resolve, 20))) {
    const response = await tenant.request(`/v1/events?limit=100${type ? `&type=${type}` : ''}`);
    const page = await expectJson<{
      data: { id: string; type: string; version: number; timestamp: string; data: unknown }[];
    }>(response, 200);
    if (page.data.length >= Math.min(stored?.n ?? 0, 100) || Date.now() > deadline) return page.data;
  }
}

/** A promise and the function that resolves it, for tests that hold something open until told. */
export function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
