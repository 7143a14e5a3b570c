import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { expect } from 'vitest';

// The browser's globals, as the code passed to page.evaluate() uses them (this project compiles without the DOM lib).
declare const window: Record<string, unknown> & { innerWidth: number };
declare const document: { cookie: string; documentElement: { scrollWidth: number } };

/** Webhooks, the dispatcher's retries and the log's polling (2 s) sit between an action and what it shows. */
export const WAIT = { timeout: 20_000, interval: 100 };
/** What a request the test makes refused on purpose logs in the console. */
export const refused = (status: number) =>
  new RegExp(`Failed to load resource: the server responded with a status of ${status}`);

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
export const requireBrowser = process.env.HERALD_REQUIRE_BROWSER === '1';
/** Screenshots of every page, at both widths: outside the repository. */
export const SCREEN_DIR = process.env.HERALD_PORTAL_SCREENS_DIR || '/tmp/herald-portal-screens';
export const WIDE = { width: 1280, height: 900 };
export const NARROW = { width: 375, height: 812 };

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
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
}

/** A page that records every uncaught exception and console error (a CSP violation shows up here). */
export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  problems: string[];
  /**
   * Takes the problems seen since the last call, each matching one of
   * `expected` (a refused request the test made on purpose); any other is a failure.
   */
  expectOnly(expected: RegExp[]): void;
}

export async function watchedPage(browser: Browser): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: WIDE });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console.error: ${message.text()} (${message.location().url})`);
  });
  return {
    page,
    context,
    problems,
    expectOnly(expected) {
      const unexpected = problems.filter((p) => !expected.some((e) => e.test(p)));
      problems.length = 0;
      expect(unexpected).toEqual([]);
    },
  };
}

/**
 * The checks every portal page gets: axe-core (injected through the
 * debugging protocol, so the portal's own CSP stays on) reports no serious
 * or critical violation, and full-page screenshots at 1280 and 375 px.
 */
export async function checkPage(page: Page, name: string, driver: string): Promise<void> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = window.axe as { run(): Promise<{ violations: Array<Record<string, any>> }> };
    const result = await axe.run();
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map(
        (v) =>
          `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n: { target: string[] }) => n.target.join(' ')).join(', ')})`,
      );
  });
  expect(violations, `axe on the ${name} page`).toEqual([]);
  mkdirSync(SCREEN_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREEN_DIR, `${driver}-${name}-1280.png`), fullPage: true });
  await page.setViewportSize(NARROW);
  try {
    await page.screenshot({ path: path.join(SCREEN_DIR, `${driver}-${name}-375.png`), fullPage: true });
    // Nothing may stick out sideways at 375 px: the page scrolls vertically only.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${name} page is wider than 375 px`).toBeLessThanOrEqual(0);
  } finally {
    await page.setViewportSize(WIDE);
  }
}
