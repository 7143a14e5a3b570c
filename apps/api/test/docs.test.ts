import type { Database } from '@herald/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app';
import type { RunningServer } from '../src/server';
import { listen } from '../src/server';

/** The docs never touch the database: any use of it fails the test. */
const noDatabase = new Proxy({} as Database, {
  get(_target, property) {
    throw new Error(`the docs used the database (${String(property)})`);
  },
});

/** Every URL the page would load: script src, link href, img src. */
function referencedUrls(html: string): string[] {
  return [...html.matchAll(/<(?:script|link|img)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']+)["']/gi)].map((m) => m[1]!);
}

describe('/docs API reference', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await listen(createApp({ db: noDatabase }));
  });
  afterAll(async () => {
    await server?.close();
  });

  it('serves an HTML page that loads only same-origin assets', async () => {
    const response = await fetch(`${server.url}/docs`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('<div id="reference"></div>');

    const urls = referencedUrls(html);
    expect(urls).toEqual(
      expect.arrayContaining(['/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css', '/docs/init.js']),
    );
    for (const url of urls) {
      // Root-relative paths only: no scheme, no protocol-relative `//host`.
      expect(url, url).toMatch(/^\/(?!\/)/);
    }
    expect(html).not.toMatch(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
  });

  it.each([
    ['/docs/swagger-ui-bundle.js', /^text\/javascript/, 'SwaggerUIBundle'],
    ['/docs/swagger-ui.css', /^text\/css/, '.swagger-ui'],
    ['/docs/init.js', /^text\/javascript/, "url: '/openapi.json'"],
  ])('serves %s from the npm package', async (path, contentType, marker) => {
    const response = await fetch(`${server.url}${path}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(contentType);
    const body = await response.text();
    expect(body).toContain(marker);
  });

  it('serves the real Swagger UI bundle (not a stub)', async () => {
    const response = await fetch(`${server.url}/docs/swagger-ui-bundle.js`);
    const body = await response.arrayBuffer();
    expect(body.byteLength).toBeGreaterThan(500_000);
    expect(response.headers.get('cache-control')).toContain('max-age');
  });

  it('the page makes no third-party requests: the validator badge is off', async () => {
    const init = await (await fetch(`${server.url}/docs/init.js`)).text();
    expect(init).toContain('validatorUrl: null');
    expect(init).not.toMatch(/https?:\/\//);
  });

  it('serves the document the page renders, same origin', async () => {
    const response = await fetch(`${server.url}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const document = (await response.json()) as { openapi: string; webhooks: Record<string, unknown> };
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.webhooks)).toContain('user.created');
  });

  it('serves only the listed package files', async () => {
    for (const path of ['/docs/package.json', '/docs/..%2Fpackage.json', '/docs/index.html']) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status, path).toBe(404);
    }
  });
});
