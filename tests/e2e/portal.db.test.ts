import { describeDb } from '@herald/db/testing';
import { ensurePortalBuilt, portalDistDir } from '@herald/portal/ensure-built';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { portalAccessTests } from './portal-access';
import { CHROMIUM, hasChromium, requireBrowser } from './portal-browser';
import { portalBrowserTests } from './portal-flows';
import type { PortalHerald } from './portal-harness';
import { startPortalHerald } from './portal-harness';
import { portalManyEndpointsTests } from './portal-many-endpoints';
import { portalRevocationTests } from './portal-revocation';
import { portalSessionEdgeTests } from './portal-session-edges';

/**
 * The portal against one real Herald per driver (API, dispatcher and the
 * built portal on a real socket): its access rules over HTTP, then every
 * flow in Debian's Chromium. One Herald and one browser for the file keep
 * CI time down.
 */

if (!hasChromium && !requireBrowser) {
  console.warn(
    `[portal] browser flows SKIPPED: ${CHROMIUM} not found (apt-get install chromium; HERALD_REQUIRE_BROWSER=1 fails instead).`,
  );
}

it.runIf(!hasChromium && requireBrowser)('has Chromium for the portal tests (HERALD_REQUIRE_BROWSER=1)', () => {
  throw new Error(`HERALD_REQUIRE_BROWSER=1 but ${CHROMIUM} does not exist: apt-get install chromium`);
});

describeDb('the portal', (t) => {
  let h: PortalHerald | undefined;
  beforeAll(async () => {
    await ensurePortalBuilt();
    h = await startPortalHerald(t, { portalDir: portalDistDir });
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  }, 60_000);

  describe('access over HTTP', () => portalAccessTests(t, () => h!));
  describe('what ends links and sessions', () => portalRevocationTests(t, () => h!));
  describe('sessions and the rest of the browser', () => portalSessionEdgeTests(t, () => h!));
  describe.skipIf(!hasChromium)('in a browser', () => portalBrowserTests(t, () => h!));
  describe.skipIf(!hasChromium)('more endpoints than a page', () => portalManyEndpointsTests(t, () => h!));
});
