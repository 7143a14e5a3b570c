import { randomBytes } from 'node:crypto';
import type { Platform } from '@herald/api';
import { createPlatform } from '@herald/api';
import { projects } from '@herald/db';
import type { TestDb } from '@herald/db/testing';
import { inArray } from 'drizzle-orm';
import { expect } from 'vitest';
import type { Receiver, Responder } from './harness';
import { ADMIN_TOKEN, fastDispatcherConfig, startReceiver } from './harness';

/**
 * One Herald per test file for the portal's tests: the API and dispatcher
 * on a real socket (the browser needs one), shared by the file's tests,
 * closed by `close()` in afterAll.
 */
export interface PortalHerald {
  url: string;
  platform: Platform;
  project(): Promise<PortalProject>;
  receiver(responder?: Responder): Promise<Receiver>;
  close(): Promise<void>;
}

export interface PortalProject {
  id: string;
  apiKey: string;
  /** A REST call with the project's API key; checks the status, answers the parsed body. */
  call<T = any>(path: string, status: number, json?: unknown, method?: string): Promise<T>;
  /** `POST /v1/portal-sessions`: a fresh single-use link. */
  link(): Promise<string>;
}

/** The cookies and CSRF token a portal link gives, for HTTP-level tests. */
export interface PortalCookies {
  cookie: string;
  csrf: string;
}

export async function startPortalHerald(t: TestDb, options: { portalDir?: string } = {}): Promise<PortalHerald> {
  const platform = await createPlatform({
    database: { herald: t.herald },
    api: {
      adminToken: ADMIN_TOKEN,
      allowPrivateNetworks: true,
      rateLimit: { requests: 1_000_000, windowSeconds: 1 },
      // The many-endpoints flow pages past 100 of them.
      maxEndpointsPerProject: 1_000,
    },
    dispatcher: fastDispatcherConfig,
    ...(options.portalDir ? { portalDir: options.portalDir } : {}),
  });
  const server = await platform.listen();
  const receivers: Receiver[] = [];
  const projectIds: string[] = [];

  const request = async (path: string, authorization: string, json?: unknown, method?: string) => {
    const init: RequestInit = { method: method ?? (json === undefined ? 'GET' : 'POST'), headers: { authorization } };
    if (json !== undefined) {
      init.body = JSON.stringify(json);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
    return fetch(`${server.url}${path}`, init);
  };

  return {
    url: server.url,
    platform,
    async project() {
      const created = await request('/v1/projects', `Bearer ${ADMIN_TOKEN}`, {
        name: `portal ${randomBytes(3).toString('hex')}`,
      });
      expect(created.status).toBe(201);
      const body = (await created.json()) as { project: { id: string }; apiKey: { key: string } };
      projectIds.push(body.project.id);
      const authorization = `Bearer ${body.apiKey.key}`;
      const call: PortalProject['call'] = async (path, status, json, method) => {
        const response = await request(path, authorization, json, method);
        const text = await response.text();
        expect({ path, status: response.status, body: text }).toMatchObject({ status });
        return text === '' ? undefined : JSON.parse(text);
      };
      return {
        id: body.project.id,
        apiKey: body.apiKey.key,
        call,
        link: async () => (await call('/v1/portal-sessions', 201, {})).url as string,
      };
    },
    async receiver(responder) {
      const r = await startReceiver(responder);
      receivers.push(r);
      return r;
    },
    async close() {
      await platform.close();
      await Promise.all(receivers.map((r) => r.close()));
      if (projectIds.length > 0) await t.db.delete(projects).where(inArray(projects.id, projectIds));
    },
  };
}

/**
 * The link's page (its GET, which spends nothing), then its form's POST, as the page's script sends
 * it from a browser that sends `Origin` but no Fetch Metadata (Safari before 16.4): with the page's
 * nonce cookie and field (the strictest check the POST makes).
 */
export async function submitLink(link: string, options: { https?: boolean } = {}): Promise<Response> {
  // Behind a proxy that ends TLS (it says so in X-Forwarded-Proto): the cookies get `__Host-` names.
  const proxied: Record<string, string> = options.https ? { 'x-forwarded-proto': 'https' } : {};
  const page = await fetch(link, { redirect: 'manual', headers: proxied });
  expect(page.status).toBe(200);
  const html = await page.text();
  const token = /name="token" value="([^"]+)"/.exec(html)?.[1];
  expect(token).toBe(new URL(link).searchParams.get('token'));
  const nonce = /name="nonce" value="([^"]+)"/.exec(html)?.[1];
  const nonceName = options.https ? '__Host-herald_portal_open=' : 'herald_portal_open=';
  const nonceCookie = page.headers.getSetCookie().find((c) => c.startsWith(nonceName));
  expect(nonceCookie).toBeDefined();
  return fetch(new URL('/portal/open', link), {
    method: 'POST',
    headers: {
      ...proxied,
      'content-type': 'application/x-www-form-urlencoded',
      origin: new URL(link).origin,
      cookie: nonceCookie!.split(';')[0]!,
    },
    body: new URLSearchParams({ token: token!, nonce: nonce! }),
    redirect: 'manual',
  });
}

/** Opens a link without a browser: the session and CSRF cookies it sets. */
export async function openLink(link: string, options: { https?: boolean } = {}): Promise<PortalCookies> {
  const response = await submitLink(link, options);
  expect(response.status).toBe(303);
  const cookies = response.headers.getSetCookie().map((c) => c.split(';')[0]!);
  const csrfName = options.https ? '__Host-herald_portal_csrf=' : 'herald_portal_csrf=';
  const csrf = cookies.find((c) => c.startsWith(csrfName))?.split('=')[1];
  expect(csrf).toBeTruthy();
  return { cookie: cookies.join('; '), csrf: csrf! };
}
