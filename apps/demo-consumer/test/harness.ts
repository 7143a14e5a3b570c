import { randomBytes } from 'node:crypto';
import { createPlatform } from '@herald/api';
import type { HeraldClient } from '@herald/client';
import { createHeraldClient } from '@herald/client';
import { signHeaders } from '@herald/signing';
import type { RunningConsumer } from '../src';
import { startConsumer } from '../src';

/**
 * A real Herald API in-process (embedded PGlite, real socket), with one
 * project. The consumer calls it over HTTP through the typed client, as a
 * customer's backend would. No dispatcher: tests sign and deliver webhooks
 * themselves, using the platform's own recorded events as bodies.
 */
type EventListInput = Extract<Parameters<HeraldClient['events']['list']['query']>[0], { type?: unknown }>;
export type PlatformEventType = NonNullable<EventListInput['type']>;

export interface TestPlatform {
  url: string;
  apiKey: string;
  client: HeraldClient;
  /** The latest event of a type the platform recorded for a user, as a webhook body. */
  latestEvent(type: PlatformEventType, userId: string): Promise<{ id: string; body: string }>;
  close(): Promise<void>;
}

export async function startPlatform(): Promise<TestPlatform> {
  const adminToken = `admin_${randomBytes(8).toString('hex')}`;
  const platform = await createPlatform({
    database: { dataDir: 'memory://' },
    api: { adminToken, rateLimit: { requests: 100_000, windowSeconds: 1 } },
    dispatcher: false,
  });
  const server = await platform.listen();
  const response = await fetch(`${server.url}/v1/projects`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'demo consumer tests' }),
  });
  if (response.status !== 201)
    throw new Error(`creating the project failed: ${response.status} ${await response.text()}`);
  const { apiKey } = (await response.json()) as { apiKey: { key: string } };
  const client = createHeraldClient({ baseUrl: server.url, apiKey: apiKey.key });

  return {
    url: server.url,
    apiKey: apiKey.key,
    client,
    async latestEvent(type, userId) {
      const matches = [];
      let cursor: string | undefined;
      do {
        const page = await client.events.list.query({ type, limit: 100, ...(cursor ? { cursor } : {}) });
        matches.push(...page.data.filter((event) => JSON.stringify(event.data).includes(userId)));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      const event = matches.at(-1);
      if (!event) throw new Error(`no ${type} event for ${userId}`);
      return { id: event.id, body: JSON.stringify(event) };
    },
    close: () => platform.close(),
  };
}

export const newUserEmail = () => `user-${randomBytes(5).toString('hex')}@example.com`;

export interface Delivery {
  webhookId: string;
  body: string;
  secrets: string | string[];
  /** Default: now. */
  timestamp?: Date;
}

/** POSTs a delivery signed as the dispatcher would sign it. */
export async function deliver(consumerUrl: string, delivery: Delivery): Promise<Response> {
  const headers = signHeaders({
    id: delivery.webhookId,
    timestamp: delivery.timestamp ?? new Date(),
    body: delivery.body,
    secrets: delivery.secrets,
  });
  return fetch(`${consumerUrl}/webhooks/herald`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: delivery.body,
  });
}

/** Polls until `check` returns a non-null, non-false value. */
export async function waitFor<T>(check: () => Promise<T | null | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`waitFor: timed out after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The consumer on a free port against `platform`, in memory; `options` adds to or overrides that. */
export function startTestConsumer(
  platform: TestPlatform,
  options: Partial<Parameters<typeof startConsumer>[0]> & { secrets: string[] },
): Promise<RunningConsumer> {
  return startConsumer({
    port: 0,
    platformUrl: platform.url,
    apiKey: platform.apiKey,
    dataDir: 'memory://',
    ...options,
  });
}
