import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Locator, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { DemoState } from '../src/demo-project';
import type { RunningDemo } from '../src/start-demo';
import { startDemo } from '../src/start-demo';

/**
 * The one-command demo in a real browser: Debian's headless Chromium, driven
 * by playwright-core, clicks the page's buttons and watches the webhooks and
 * the consumer's follow-ups arrive on the live timeline.
 *
 * Without /usr/bin/chromium the test is skipped with a warning, unless
 * HERALD_REQUIRE_BROWSER=1 (CI), where a missing browser is a failure.
 * The screenshot goes to HERALD_SCREENSHOT_DIR, or the OS temp dir: never the repo.
 */

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const requireBrowser = process.env.HERALD_REQUIRE_BROWSER === '1';
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const screenshotPath = path.join(process.env.HERALD_SCREENSHOT_DIR || tmpdir(), 'herald-demo-screenshot.png');
const failureScreenshotPath = screenshotPath.replace(/\.png$/, '-failure.png');

/** Webhooks, API round trips and the consumer's worker all sit between a click and what it shows. */
const WAIT = { timeout: 20_000, interval: 100 };

if (!hasChromium && !requireBrowser) {
  console.warn(
    `[demo-browser] SKIPPED: ${CHROMIUM} not found, so the demo page was not tested in a browser ` +
      '(apt-get install chromium; set HERALD_REQUIRE_BROWSER=1 to make this a failure).',
  );
}

it.runIf(!hasChromium && requireBrowser)('has Chromium for the browser test (HERALD_REQUIRE_BROWSER=1)', () => {
  throw new Error(
    `HERALD_REQUIRE_BROWSER=1 but ${CHROMIUM} does not exist: install Debian's chromium package ` +
      '(apt-get install chromium) so the demo page can be tested in a real browser.',
  );
});

describe.skipIf(!hasChromium)('the demo page in headless Chromium', () => {
  let dataDir: string;
  let demo: RunningDemo | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let userId: string;
  const demoLog: string[] = [];
  /** Uncaught exceptions and console errors on the page (a CSP violation shows up here). */
  const pageProblems: string[] = [];

  beforeAll(async () => {
    rmSync(failureScreenshotPath, { force: true });
    dataDir = mkdtempSync(path.join(tmpdir(), 'herald-demo-browser-'));
    demo = await startDemo({ dataDir, platformPort: 0, consumerPort: 0, log: (line) => demoLog.push(line) });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-gpu',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on('pageerror', (error) => pageProblems.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      pageProblems.push(`console.error: ${message.text()} (${message.location().url})`);
    });
    await page.goto(demo.pageUrl);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  /** On a failure: what the page looked like, and what the consumer printed. */
  function reportOnFailure() {
    onTestFailed(async () => {
      await page?.screenshot({ path: failureScreenshotPath, fullPage: true }).catch(() => {});
      console.error(`[demo-browser] failure screenshot: ${failureScreenshotPath}`);
      console.error(`[demo-browser] page problems:\n${pageProblems.join('\n') || '(none)'}`);
      console.error(`[demo-browser] demo log (last 40 lines):\n${demoLog.slice(-40).join('\n')}`);
    });
  }

  const entries = (filter: { kind: string; type?: string; text?: string | RegExp }): Locator => {
    let selector = `[data-testid="timeline-entry"][data-kind="${filter.kind}"]`;
    if (filter.type) selector += `[data-type="${filter.type}"]`;
    // A redelivery (the dispatcher retrying) is shown too, marked duplicate: count first deliveries only.
    if (filter.kind === 'webhook') selector += '[data-duplicate="false"]';
    const locator = page.locator(selector);
    return filter.text === undefined ? locator : locator.filter({ hasText: filter.text });
  };
  const count = (locator: Locator) => () => locator.count();
  const text = (testId: string) => () => page.getByTestId(testId).textContent();
  /** Position on the page: the newest entry is at the top, so a smaller index is a later entry. */
  const indexOf = (locator: Locator) =>
    locator.evaluate((element) => Array.from(element.parentElement!.children).indexOf(element));

  /** Clicks a button and waits until the page has the action's answer and the buttons are usable again. */
  async function click(testId: string, action: string): Promise<void> {
    const actionEntries = entries({ kind: 'action', text: `${action}:` });
    const before = await actionEntries.count();
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/actions/${testId}`) && r.request().method() === 'POST', WAIT),
      page.getByTestId(testId).click(),
    ]);
    expect(response.status()).toBe(200);
    // The page disables every button while an action runs, and enables them once it has shown the answer.
    await expect.poll(() => page.getByTestId(testId).isEnabled(), WAIT).toBe(true);
    // The action is recorded on the timeline before it answers, and reaches the page over SSE.
    await expect.poll(count(actionEntries), WAIT).toBe(before + 1);
  }

  it('opens connected, with the buttons and counters', async () => {
    reportOnFailure();
    expect(await page.title()).toBe('Herald demo consumer');
    for (const testId of ['create-user', 'failed-login', 'change-password', 'delete-user']) {
      expect(await page.getByTestId(testId).isEnabled()).toBe(true);
    }
    await expect.poll(text('connection'), WAIT).toBe('connected');
    expect(await page.getByTestId('current-user').textContent()).toBe('none yet');
    // The counter ticks once a second from the consumer's start time.
    await expect.poll(async () => Number(await text('poller-requests')()), WAIT).toBeGreaterThan(0);
    expect(await page.getByTestId('webhooks-received').textContent()).toBe('0');
  }, 60_000);

  it('"create user": the user.created webhook arrives and the role member is assigned', async () => {
    reportOnFailure();
    await click('create-user', 'create user');
    expect(await page.getByTestId('action-status').textContent()).toMatch(/^users\.create → /);

    const current = await page.getByTestId('current-user').textContent();
    const match = /^demo-\S+@example\.com \((\S+)\)$/.exec(current ?? '');
    expect(match, `current-user shows "${current}"`).not.toBeNull();
    userId = match![1]!;

    const created = entries({ kind: 'webhook', type: 'user.created' });
    await expect.poll(count(created), WAIT).toBe(1);
    expect(await created.getAttribute('data-verified')).toBe('true');
    expect(await created.getAttribute('data-duplicate')).toBe('false');
    expect(await created.getAttribute('data-ok')).toBe('true');
    const createdWebhookId = await created.getAttribute('data-webhook-id');
    expect(createdWebhookId).toBeTruthy();
    expect(await created.textContent()).toContain(`webhook-id ${createdWebhookId}`);
    // The user's first event: its subject sequence is shown on the entry.
    expect(await created.getAttribute('data-sequence')).toBe('1');
    expect(await created.getByTestId('sequence').textContent()).toBe('#1');

    // The follow-up is tied to that delivery: users.get, users.update, then the result.
    const assigned = page.locator(
      `[data-testid="timeline-entry"][data-kind="result"][data-webhook-id="${createdWebhookId}"]`,
    );
    await expect
      .poll(async () => (await assigned.allTextContents()).join('\n'), WAIT)
      .toContain('role member assigned');
    await expect
      .poll(
        count(entries({ kind: 'call', type: 'user.created', text: `users.update ${userId} roles + member → ok` })),
        WAIT,
      )
      .toBe(1);

    // Assigning the role is itself a change, reported by a user.updated webhook.
    await expect
      .poll(count(entries({ kind: 'result', type: 'user.updated', text: /local copy updated \(.*roles/ })), WAIT)
      .toBe(1);
  }, 60_000);

  it('three failed logins lock the user, and the user.updated webhook confirms it', async () => {
    reportOnFailure();
    expect(userId, 'the previous test created a user').toBeTruthy();
    for (let attempt = 1; attempt <= 3; attempt++) {
      await click('failed-login', 'failed login');
      expect(await page.getByTestId('action-status').textContent()).toContain('invalid_credentials (as intended)');
      // Each failure is a user.login.failed webhook the consumer counts before the next click.
      await expect.poll(count(entries({ kind: 'webhook', type: 'user.login.failed' })), WAIT).toBe(attempt);
    }
    await expect
      .poll(count(entries({ kind: 'result', type: 'user.login.failed', text: /login failure [12] of 3/ })), WAIT)
      .toBe(2);

    const lockedResult = entries({
      kind: 'result',
      type: 'user.login.failed',
      text: 'user locked after 3 failed logins',
    });
    await expect.poll(count(lockedResult), WAIT).toBe(1);
    await expect
      .poll(
        count(
          entries({ kind: 'call', type: 'user.login.failed', text: `users.update ${userId} status = locked → ok` }),
        ),
        WAIT,
      )
      .toBe(1);

    // The lock comes back as a user.updated webhook whose payload has status locked.
    const confirmed = entries({
      kind: 'result',
      type: 'user.updated',
      text: 'user locked (confirmed by user.updated)',
    });
    await expect.poll(count(confirmed), WAIT).toBe(1);
    expect(await indexOf(confirmed), 'the confirmation is above (after) the lock').toBeLessThan(
      await indexOf(lockedResult),
    );
    const lockWebhookId = await confirmed.getAttribute('data-webhook-id');
    expect(lockWebhookId).toBeTruthy();
    const lockWebhook = page.locator(
      `[data-testid="timeline-entry"][data-kind="webhook"][data-type="user.updated"][data-webhook-id="${lockWebhookId}"]`,
    );
    expect(await lockWebhook.count()).toBe(1);
    expect(await lockWebhook.getAttribute('data-verified')).toBe('true');
    expect(await lockWebhook.getAttribute('data-duplicate')).toBe('false');
    expect(await indexOf(lockWebhook), 'the webhook is below (before) its follow-up').toBeGreaterThan(
      await indexOf(confirmed),
    );

    // The platform agrees.
    const { apiKey, endpointId } = JSON.parse(
      readFileSync(path.join(dataDir, 'demo-project.json'), 'utf8'),
    ) as DemoState;
    const response = await fetch(`${demo!.platformUrl}/v1/users/${userId}`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      id: userId,
      status: 'locked',
      roles: expect.arrayContaining(['member']),
    });
    // The demo's endpoint gets one user's events one at a time, in sequence order.
    const endpoint = await fetch(`${demo!.platformUrl}/v1/endpoints/${endpointId}`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(await endpoint.json()).toMatchObject({ ordering: 'fifo' });
    // In that order, no event arrives stale: each user.updated entry has a higher sequence than the one before.
    const updatedWebhooks = await entries({ kind: 'webhook', type: 'user.updated' }).all();
    // Newest first on the page.
    const updatedSequences = (
      await Promise.all(updatedWebhooks.map((entry) => entry.getAttribute('data-sequence')))
    ).map(Number);
    updatedSequences.reverse();
    expect(updatedSequences.length).toBe(2);
    expect(updatedSequences[1]).toBeGreaterThan(updatedSequences[0]!);
    expect(await page.getByText(/stale: sequence/).count()).toBe(0);

    // user.created, user.updated (role), 3 × user.login.failed, user.updated (lock).
    await expect.poll(async () => Number(await text('webhooks-received')()), WAIT).toBeGreaterThanOrEqual(6);
    expect(await entries({ kind: 'error' }).count()).toBe(0);
    expect(await page.locator('[data-testid="timeline-entry"][data-ok="false"]').count()).toBe(0);
    expect(await page.getByTestId('connection').textContent()).toBe('connected');
  }, 90_000);

  it("links to the Herald portal: a fresh single-use link opens the project's endpoints", async () => {
    reportOnFailure();
    expect(demo!.portalUrl).toBe(new URL('/portal', demo!.pageUrl).toString());
    const portal = await browser!.newPage();
    try {
      await portal.goto(demo!.pageUrl);
      await portal.getByTestId('portal-link').click();
      await expect.poll(() => portal.locator('main h1').textContent(), WAIT).toBe('Endpoints');
      expect(new URL(portal.url()).origin).toBe(new URL(demo!.platformUrl).origin);
      await expect.poll(() => portal.getByTestId('endpoint-row').count(), WAIT).toBe(1);
    } finally {
      await portal.close();
    }
  }, 60_000);

  it('saves a full-page screenshot outside the repo', async () => {
    reportOnFailure();
    expect(path.relative(repoRoot, screenshotPath).startsWith('..'), `${screenshotPath} is outside ${repoRoot}`).toBe(
      true,
    );
    mkdirSync(path.dirname(screenshotPath), { recursive: true });
    rmSync(screenshotPath, { force: true });
    await page.screenshot({ path: screenshotPath, fullPage: true });
    console.log(`[demo-browser] screenshot: ${screenshotPath}`);
    expect(existsSync(screenshotPath)).toBe(true);
    expect(statSync(screenshotPath).size).toBeGreaterThan(0);
    expect(pageProblems).toEqual([]);
  }, 30_000);
});
