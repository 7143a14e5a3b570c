import type { TestDb } from '@herald/db/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import type { Receiver } from './harness';
import type { WatchedPage } from './portal-browser';
import { checkPage, launchChromium, SCREEN_DIR, WAIT, watchedPage } from './portal-browser';
import { portalGuardTests } from './portal-guards';
import type { PortalHerald, PortalProject } from './portal-harness';

// The browser's globals, as the code passed to page.evaluate() uses them (this project compiles without the DOM lib).
declare const window: Record<string, unknown> & { innerWidth: number };
declare const document: {
  cookie: string;
  documentElement: { scrollWidth: number };
  activeElement: { textContent: string | null; tagName: string; id: string } | null;
};

/**
 * The portal in Debian's headless Chromium (playwright-core) against the
 * Herald portal.db.test.ts starts, on each driver: every flow a project's
 * developer has, then (portal-guards.ts) another project's ids, a change
 * without the CSRF token, refused links and the operator's view. Every page is checked by axe-core and photographed at 1280
 * and 375 px (HERALD_PORTAL_SCREENS_DIR, default /tmp/herald-portal-screens).
 * Any console error or uncaught exception the test did not cause on purpose
 * fails it.
 */

export function portalBrowserTests(t: TestDb, herald: () => PortalHerald) {
  let h: PortalHerald;
  let browser: Browser;
  let w: WatchedPage;
  let page: Page;
  let a: PortalProject;
  let b: PortalProject;
  let receiver: Receiver;
  let failing = false;
  let endpointId: string;
  let bEndpointId: string;

  beforeAll(async () => {
    h = herald();
    [a, b] = await Promise.all([h.project(), h.project()]);
    receiver = await h.receiver(() =>
      failing ? { status: 500, body: 'boom: database locked' } : { status: 200, body: 'ok' },
    );
    bEndpointId = (await b.call('/v1/endpoints', 201, { url: `${receiver.url}/b` })).endpoint.id;
    await b.call('/v1/users', 201, { email: 'someone@b.example' });
    browser = await launchChromium();
    w = await watchedPage(browser);
    page = w.page;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  }, 60_000);

  /**
   * axe-core and the screenshots look at the pages, which are the same on
   * both drivers: where PostgreSQL is required (CI, HERALD_REQUIRE_POSTGRES=1)
   * they run on its run only, saving CI time; elsewhere on both.
   */
  const check = (target: Page, name: string) =>
    t.driver === 'postgres' || process.env.HERALD_REQUIRE_POSTGRES !== '1'
      ? checkPage(target, name, t.driver)
      : Promise.resolve();
  function reportOnFailure() {
    onTestFailed(async () => {
      await page?.screenshot({ path: `${SCREEN_DIR}/${t.driver}-failure.png`, fullPage: true }).catch(() => {});
      console.error(`[portal-browser] failure screenshot: ${SCREEN_DIR}/${t.driver}-failure.png`);
      console.error(`[portal-browser] page problems:\n${w?.problems.join('\n') || '(none)'}`);
    });
  }
  const heading = () => page.locator('main h1').textContent();
  const rows = () => page.getByTestId('delivery-row');

  it('opens a portal link: the session cookie is set and the endpoints page shows', async () => {
    reportOnFailure();
    await page.goto(await a.link());
    await expect.poll(heading, WAIT).toBe('Endpoints');
    expect(new URL(page.url()).pathname).toBe('/portal/');
    const cookies = await w.context.cookies();
    const session = cookies.find((c) => c.name === 'herald_portal');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    // The page's script cannot read the session cookie.
    expect(await page.evaluate(() => document.cookie)).not.toContain('herald_portal=');
    await expect.poll(() => page.getByText('No endpoints yet').count(), WAIT).toBe(1);
    await check(page, 'endpoints-empty');
    w.expectOnly([]);
  }, 60_000);

  it('creates an endpoint with the event-type picker, ordering and rate limit', async () => {
    reportOnFailure();
    await page.getByRole('link', { name: 'New endpoint' }).click();
    await expect.poll(heading, WAIT).toBe('New endpoint');
    await page.getByLabel('URL').fill(`${receiver.url}/hook`);
    await page.getByLabel('Description (optional)').fill('Billing service');
    await page.getByLabel('All event types, present and future').uncheck();
    await expect.poll(() => page.locator('input[name="eventType"]').count(), WAIT).toBeGreaterThan(3);
    await check(page, 'endpoint-new');
    await page.locator('input[name="eventType"][value="user.created"]').check();
    await page.locator('input[name="eventType"][value="user.deleted"]').check();
    await page.getByLabel('Ordering').selectOption('fifo');
    await page.getByLabel(/Rate limit/).fill('50');
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    await expect.poll(heading, WAIT).toBe(`${receiver.url}/hook`);
    endpointId = new URL(page.url()).pathname.split('/').at(-1)!;
    expect(await a.call(`/v1/endpoints/${endpointId}`, 200)).toMatchObject({
      url: `${receiver.url}/hook`,
      description: 'Billing service',
      eventTypes: ['user.created', 'user.deleted'],
      ordering: 'fifo',
      rateLimit: 50,
      disabled: false,
    });
    w.expectOnly([]);
  }, 60_000);

  it('sends a test event and watches it arrive in the log live', async () => {
    reportOnFailure();
    await page.getByLabel('Event type', { exact: true }).selectOption('user.created');
    await page.getByRole('button', { name: 'Send test event' }).click();
    await expect.poll(() => page.getByRole('status').textContent(), WAIT).toMatch(/Test event evt_\w+ queued/);
    await page.getByRole('link', { name: 'See its delivery' }).click();
    await expect.poll(heading, WAIT).toBe('Delivery log');
    // It arrives at the receiver and the log shows it succeeded, without a reload.
    await expect.poll(async () => rows().first().getAttribute('data-status'), WAIT).toBe('succeeded');
    expect(await rows().count()).toBe(1);

    // The whole log, live: a user created through the API shows up while the page stays loaded.
    await page.getByRole('link', { name: 'Delivery log' }).click();
    await expect.poll(() => rows().count(), WAIT).toBe(1);
    await page.evaluate(() => {
      window.stillHere = true;
    });
    await a.call('/v1/users', 201, { email: 'live@example.com' });
    await expect.poll(() => rows().count(), WAIT).toBe(2);
    await expect.poll(async () => rows().first().getAttribute('data-status'), WAIT).toBe('succeeded');
    expect(await page.evaluate(() => window.stillHere)).toBe(true);
    await check(page, 'deliveries');
    w.expectOnly([]);
  }, 60_000);

  it("opens a failed delivery's attempts, retries it and sees it succeed", async () => {
    reportOnFailure();
    failing = true;
    await a.call('/v1/users', 201, { email: 'failing@example.com' });
    // Four attempts (the first and three fast retries), then failed: the log says so live.
    const failed = page.locator('[data-testid="delivery-row"][data-status="failed"]');
    await expect.poll(() => failed.count(), WAIT).toBe(1);
    await failed.getByRole('link').click();
    await expect.poll(heading, WAIT).toMatch(/^Delivery dlv_/);
    await expect.poll(() => page.getByTestId('attempt').count(), WAIT).toBe(4);
    const first = page.getByTestId('attempt').first();
    expect(await first.getAttribute('data-status-code')).toBe('500');
    expect(await first.textContent()).toContain('boom: database locked');
    await first.getByText('Request headers').click();
    const headers = await first.locator('table.headers').textContent();
    expect(headers).toMatch(/webhook-id\s*evt_/);
    expect(headers).toContain('webhook-signature');
    expect(headers).toContain('v1,(hidden)');
    const secret = (await a.call(`/v1/endpoints/${endpointId}/secret`, 200)).secret as string;
    expect(await page.content()).not.toContain(secret.slice('whsec_'.length));
    expect(await page.locator('pre.code').first().textContent()).toContain('"type": "user.created"');
    await check(page, 'delivery-failed');

    failing = false;
    await page.getByRole('button', { name: 'Retry delivery' }).click();
    await expect.poll(() => page.getByTestId('delivery-status').textContent(), WAIT).toContain('Succeeded');
    await expect.poll(() => page.getByTestId('attempt').count(), WAIT).toBe(5);
    expect(await page.getByTestId('attempt').last().getAttribute('data-status-code')).toBe('200');
    w.expectOnly([]);
  }, 60_000);

  it('filters the log by status, event type, endpoint, event id and time', async () => {
    reportOnFailure();
    await page.getByRole('link', { name: 'Delivery log' }).first().click();
    await expect.poll(heading, WAIT).toBe('Delivery log');
    await expect.poll(() => rows().count(), WAIT).toBe(3);
    const apply = () => page.getByRole('button', { name: 'Apply filters' }).click();

    await page.getByLabel('Status').selectOption('succeeded');
    await page.getByLabel('Event type', { exact: true }).selectOption('user.created');
    await page.getByLabel('Endpoint').selectOption(endpointId);
    await apply();
    await expect.poll(() => new URL(page.url()).searchParams.get('status'), WAIT).toBe('succeeded');
    await expect.poll(() => rows().count(), WAIT).toBe(3);
    for (const status of await rows().evaluateAll((els) => els.map((e) => e.getAttribute('data-status')))) {
      expect(status).toBe('succeeded');
    }

    const eventId = (await rows().last().getAttribute('data-event-id'))!;
    await page.getByRole('link', { name: 'Clear' }).click();
    await page.getByLabel('Event id').fill(eventId);
    await apply();
    await expect.poll(() => rows().count(), WAIT).toBe(1);
    expect(await rows().first().getAttribute('data-event-id')).toBe(eventId);

    await page.getByRole('link', { name: 'Clear' }).click();
    await page.getByLabel('Status').selectOption('pending');
    await apply();
    await expect.poll(() => page.getByText('No deliveries match.').count(), WAIT).toBe(1);

    await page.getByRole('link', { name: 'Clear' }).click();
    await page.getByLabel('To').fill('2020-01-01T00:00');
    await apply();
    await expect.poll(() => page.getByText('No deliveries match.').count(), WAIT).toBe(1);
    w.expectOnly([]);
  }, 60_000);

  it('reveals and rotates the signing secret; disables and enables the endpoint; recovers', async () => {
    reportOnFailure();
    await page.getByRole('link', { name: 'Endpoints' }).click();
    await page.getByRole('link', { name: `${receiver.url}/hook` }).click();
    await expect.poll(heading, WAIT).toBe(`${receiver.url}/hook`);
    await page.getByRole('button', { name: 'Reveal secret' }).click();
    const before = (await a.call(`/v1/endpoints/${endpointId}/secret`, 200)).secret as string;
    await expect.poll(() => page.getByTestId('secret').textContent(), WAIT).toBe(before);
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent(), WAIT).toContain('Secret rotated');
    const after = (await a.call(`/v1/endpoints/${endpointId}/secret`, 200)).secret as string;
    expect(after).not.toBe(before);
    await expect.poll(() => page.getByTestId('secret').textContent(), WAIT).toBe(after);
    await expect.poll(() => page.getByTestId('endpoint-stats').textContent(), WAIT).toMatch(/Attempts\d+/);
    await check(page, 'endpoint');

    await page.getByRole('button', { name: 'Disable' }).click();
    await expect.poll(() => page.locator('.facts [data-status]').first().textContent(), WAIT).toContain('Disabled');
    expect((await a.call(`/v1/endpoints/${endpointId}`, 200)).disabled).toBe(true);
    await page.getByRole('button', { name: 'Enable' }).click();
    await expect.poll(() => page.locator('.facts [data-status]').first().textContent(), WAIT).toContain('Enabled');
    await page.getByRole('button', { name: 'Recover' }).click();
    await expect.poll(() => page.getByText(/failed deliveries queued again/).count(), WAIT).toBe(1);

    await page.getByRole('link', { name: 'Edit' }).click();
    await expect.poll(heading, WAIT).toBe('Edit endpoint');
    await expect.poll(() => page.getByLabel('Description (optional)').inputValue(), WAIT).toBe('Billing service');
    await page.getByLabel('Description (optional)').fill('Billing service (EU)');
    await page.getByLabel(/Rate limit/).fill('');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(heading, WAIT).toBe(`${receiver.url}/hook`);
    expect(await a.call(`/v1/endpoints/${endpointId}`, 200)).toMatchObject({
      description: 'Billing service (EU)',
      rateLimit: null,
      eventTypes: ['user.created', 'user.deleted'],
    });
    w.expectOnly([]);
  }, 60_000);

  it('shows the event catalog with descriptions, schemas and examples', async () => {
    reportOnFailure();
    await page.getByRole('link', { name: 'Event catalog' }).click();
    await expect.poll(heading, WAIT).toBe('Event catalog');
    await expect.poll(() => page.getByTestId('event-type').count(), WAIT).toBeGreaterThanOrEqual(7);
    const created = page.getByTestId('event-type').filter({ hasText: 'user.created' }).first();
    await created.getByText('JSON Schema').click();
    await created.getByText('Example payload').click();
    expect(await created.textContent()).toContain('"type": "object"');
    await check(page, 'event-types');
    w.expectOnly([]);
  }, 60_000);

  it('is usable with the keyboard alone: skip link, navigation, focus on the new page', async () => {
    reportOnFailure();
    // A fresh load (the session cookie stays): the first Tab reaches the skip link.
    await page.goto(`${h.url}/portal/`);
    await expect.poll(heading, WAIT).toBe('Endpoints');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    let focused = '';
    for (let i = 0; i < 8 && focused !== 'Delivery log'; i++) {
      await page.keyboard.press('Tab');
      focused = (await page.evaluate(() => document.activeElement?.textContent)) ?? '';
    }
    expect(focused).toBe('Delivery log');
    await page.keyboard.press('Enter');
    await expect.poll(heading, WAIT).toBe('Delivery log');
    // Focus moves to the new page's heading, so the next Tab starts in the page, not at the top.
    await expect.poll(() => page.evaluate(() => document.activeElement?.tagName), WAIT).toBe('H1');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('f-status');
    w.expectOnly([]);
  }, 60_000);

  portalGuardTests(() => ({ t, h, browser, page, w, a, b, bEndpointId, endpointId, check, reportOnFailure }));
}
