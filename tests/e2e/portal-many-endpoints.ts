import type { TestDb } from '@herald/db/testing';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';

// The browser's globals, as the code passed to page.evaluate() uses them (this project compiles without the DOM lib).
declare const document: { activeElement: { tagName: string } | null };

import type { WatchedPage } from './portal-browser';
import { checkPage, launchChromium, WAIT, watchedPage } from './portal-browser';
import type { PortalHerald, PortalProject } from './portal-harness';

/**
 * A project with more endpoints than one page of the API's lists (100): the portal asked for one
 * page of 100, so the 101st endpoint could not be opened from the Endpoints page, nor chosen in
 * the delivery log's endpoint filter. Its own browser context, so the other flows' session stays.
 */
const ENDPOINTS = 101;

export function portalManyEndpointsTests(t: TestDb, herald: () => PortalHerald) {
  let browser: Browser;
  let w: WatchedPage;
  let c: PortalProject;
  const ids: string[] = [];

  beforeAll(async () => {
    const h = herald();
    c = await h.project();
    for (let i = 0; i < ENDPOINTS; i += 20) {
      const batch = Array.from({ length: Math.min(20, ENDPOINTS - i) }, (_, j) =>
        c.call('/v1/endpoints', 201, { url: `https://hooks.example.com/many/${String(i + j).padStart(3, '0')}` }),
      );
      for (const created of await Promise.all(batch)) ids.push(created.endpoint.id);
    }
    ids.sort();
    browser = await launchChromium();
    w = await watchedPage(browser);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  }, 60_000);

  it('pages through every endpoint, and filters the log by one past the first hundred', async () => {
    const { page } = w;
    const heading = () => page.locator('main h1').textContent();
    const rows = () => page.getByTestId('endpoint-row');
    await page.goto(await c.link());
    await expect.poll(heading, WAIT).toBe('Endpoints');
    const seen: string[] = [];
    for (const expected of [50, 50, 1]) {
      await expect.poll(() => rows().count(), WAIT).toBe(expected);
      await expect
        .poll(() => page.getByTestId('endpoint-row').first().locator('a').getAttribute('href'), WAIT)
        .toMatch(new RegExp(`/portal/endpoints/${ids[seen.length]}$`));
      for (const href of await rows()
        .locator('a.card-title')
        .evaluateAll((as) => as.map((a) => a.getAttribute('href'))))
        seen.push(href!.split('/').at(-1)!);
      if (seen.length < ENDPOINTS) {
        await page.getByRole('link', { name: 'Next endpoints' }).click();
        // A new page: focus moves to its heading, not left on a pager link that may be gone.
        await expect.poll(() => page.evaluate(() => document.activeElement?.tagName), WAIT).toBe('H1');
      }
    }
    expect(seen).toEqual(ids);
    expect(await page.getByRole('link', { name: 'Next endpoints' }).count()).toBe(0);
    // The last one opens.
    await page.getByText('https://hooks.example.com/many/100').click();
    await expect.poll(heading, WAIT).toBe('https://hooks.example.com/many/100');
    await page.goBack();
    await page.getByRole('link', { name: 'First page' }).click();
    await expect.poll(() => rows().count(), WAIT).toBe(50);

    // A made-up cursor in the address: the API's 400 is shown at once, not retried.
    const lists: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('endpoints.list')) lists.push(request.url());
    });
    await page.goto(`${page.url().split('?')[0]}?cursor=zzz`);
    await expect.poll(() => page.getByRole('alert').textContent(), WAIT).toContain('Request validation failed');
    expect(lists).toHaveLength(1);
    await page.getByRole('link', { name: 'First page' }).click();
    await expect.poll(() => rows().count(), WAIT).toBe(50);

    // The log's endpoint filter takes an id past the first hundred.
    await page.getByRole('link', { name: 'Delivery log' }).click();
    await expect.poll(heading, WAIT).toBe('Delivery log');
    const last = ids.at(-1)!;
    await page.getByLabel('Endpoint id').fill(last);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('endpointId'), WAIT).toBe(last);
    await expect.poll(() => page.getByLabel('Endpoint id').inputValue(), WAIT).toBe(last);
    await expect.poll(() => page.getByText('No deliveries match.').count(), WAIT).toBe(1);
    // axe-core and screenshots: the pages are the same on both drivers (see portal-flows.ts).
    if (t.driver === 'postgres') await checkPage(page, 'deliveries-endpoint-id', t.driver);
    // The refused cursor, on purpose (once: no retry).
    w.expectOnly([/status of 400 .*endpoints\.list.*cursor%22%3A%22zzz/]);
  }, 60_000);
}
