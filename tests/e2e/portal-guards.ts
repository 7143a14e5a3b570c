import { createHash } from 'node:crypto';
import { portalLinks } from '@herald/db';
import type { TestDb } from '@herald/db/testing';
import { sql } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { ADMIN_TOKEN } from './harness';
import type { WatchedPage } from './portal-browser';
import { refused, WAIT, watchedPage } from './portal-browser';
import type { PortalHerald, PortalProject } from './portal-harness';

// The browser's globals, as the code passed to page.evaluate() uses them (this project compiles without the DOM lib).
declare const document: { cookie: string };

/** What the browser flows (portal-flows.ts) have set up by the time these run. */
export interface GuardState {
  t: TestDb;
  h: PortalHerald;
  browser: Browser;
  /** Signed in to project `a` through its portal link. */
  page: Page;
  w: WatchedPage;
  a: PortalProject;
  b: PortalProject;
  bEndpointId: string;
  /** `a`'s endpoint, created in the portal. */
  endpointId: string;
  check(page: Page, name: string): Promise<void>;
  reportOnFailure(): void;
}

/**
 * What the portal refuses, in the browser: another project's ids, a change
 * without the CSRF token, a reused or expired link; and the operator's
 * sign-in with the admin token.
 */
export function portalGuardTests(state: () => GuardState) {
  it("never reaches another project's ids, and refuses a change without the CSRF token", async () => {
    const { h, page, w, a, b, bEndpointId, endpointId, reportOnFailure } = state();
    reportOnFailure();
    const bDeliveryId: string = (await b.call(`/v1/endpoints/${bEndpointId}/deliveries`, 200)).data[0].id;
    await page.goto(`${h.url}/portal/endpoints/${bEndpointId}`);
    await expect.poll(() => page.getByRole('alert').textContent(), WAIT).toContain('Endpoint not found');
    await page.goto(`${h.url}/portal/deliveries/${bDeliveryId}`);
    await expect.poll(() => page.getByRole('alert').textContent(), WAIT).toContain('Delivery not found');
    // With the page's own cookie and CSRF token: B's objects answer 404, whatever the call.
    const answers = await page.evaluate(
      async ({ ep, dlv }) => {
        const csrf = document.cookie
          .split('; ')
          .find((c: string) => c.startsWith('herald_portal_csrf='))!
          .split('=')[1]!;
        const post = (name: string, input: unknown) =>
          fetch(`/trpc/${name}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-herald-csrf': csrf },
            body: JSON.stringify(input),
          }).then((r) => r.status);
        return [
          await post('endpoints.rotateSecret', { id: ep }),
          await post('endpoints.update', { id: ep, disabled: true }),
          await post('deliveries.retry', { id: dlv }),
          await fetch(`/trpc/endpoints.getSecret?input=${encodeURIComponent(JSON.stringify({ id: ep }))}`).then(
            (r) => r.status,
          ),
        ];
      },
      { ep: bEndpointId, dlv: bDeliveryId },
    );
    expect(answers).toEqual([404, 404, 404, 404]);
    expect((await b.call(`/v1/endpoints/${bEndpointId}`, 200)).disabled).toBe(false);

    // The same session, without the CSRF header: refused, nothing changed.
    const withoutCsrf = await page.evaluate(async (id) => {
      const r = await fetch('/trpc/endpoints.update', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, disabled: true }),
      });
      return { status: r.status, body: (await r.json()) as { error: { data: { herald: { code: string } } } } };
    }, endpointId);
    expect(withoutCsrf.status).toBe(403);
    expect(withoutCsrf.body.error.data.herald.code).toBe('forbidden');
    expect((await a.call(`/v1/endpoints/${endpointId}`, 200)).disabled).toBe(false);
    w.expectOnly([refused(404), refused(403)]);
  }, 60_000);

  it('an Idempotency-Key on a portal-session request answers 400 and runs nothing: never silently ignored', async () => {
    const { page, w, a, endpointId, reportOnFailure } = state();
    reportOnFailure();
    const secretOf = async () => (await a.call(`/v1/endpoints/${endpointId}/secret`, 200)).secret as string;
    const before = await secretOf();
    const answers = await page.evaluate(async (id) => {
      const csrf = document.cookie
        .split('; ')
        .find((c: string) => c.startsWith('herald_portal_csrf='))!
        .split('=')[1]!;
      const rotate = () =>
        fetch(`/v1/endpoints/${id}/rotate-secret`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-herald-csrf': csrf, 'idempotency-key': 'portal-retry' },
          body: JSON.stringify({ graceSeconds: 0 }),
        }).then(async (r) => ({
          status: r.status,
          code: ((await r.json()) as { error?: { code: string } }).error?.code,
        }));
      return [await rotate(), await rotate()];
    }, endpointId);
    expect(answers).toEqual([
      { status: 400, code: 'validation_error' },
      { status: 400, code: 'validation_error' },
    ]);
    expect(await secretOf()).toBe(before);
    w.expectOnly([refused(400)]);
  });

  it('a delivery log address with a time that does not parse shows the log, not a blank page', async () => {
    const { h, page, reportOnFailure } = state();
    reportOnFailure();
    await page.goto(`${h.url}/portal/deliveries?since=yesterday&until=not-a-time`);
    await expect.poll(() => page.getByRole('navigation').count(), WAIT).toBeGreaterThan(0);
    await expect.poll(() => page.getByRole('heading', { name: 'Delivery log' }).count(), WAIT).toBeGreaterThan(0);
  });

  it('refuses a reused or expired link with a clear page', async () => {
    const { t, browser, a, check, reportOnFailure } = state();
    reportOnFailure();
    const fresh = await watchedPage(browser);
    try {
      const link = await a.link();
      await fresh.page.goto(link);
      await expect.poll(() => fresh.page.locator('main h1').textContent(), WAIT).toBe('Endpoints');
      const reused = await fresh.page.goto(link);
      expect(reused?.status()).toBe(410);
      expect(await fresh.page.locator('h1').textContent()).toBe('This portal link was already used');
      await check(fresh.page, 'link-refused');

      const expiring = await a.link();
      const token = new URL(expiring).searchParams.get('token')!;
      await t.db.execute(
        sql`update ${portalLinks} set expires_at = now() - interval '1 second' where token_hash = ${createHash('sha256').update(token).digest('hex')}`,
      );
      const expired = await fresh.page.goto(expiring);
      expect(expired?.status()).toBe(410);
      expect(await fresh.page.locator('h1').textContent()).toBe('This portal link has expired');
      fresh.expectOnly([refused(410)]);
    } finally {
      await fresh.context.close();
    }
  }, 60_000);

  it("the operator signs in with the admin token and sees every project's queue and failing endpoints", async () => {
    const { h, browser, a, b, check, reportOnFailure } = state();
    reportOnFailure();
    const operator = await watchedPage(browser);
    try {
      await operator.page.goto(`${h.url}/portal/`);
      await expect.poll(() => operator.page.locator('main h1').textContent(), WAIT).toBe('Herald portal');
      await check(operator.page, 'sign-in');
      await operator.page.getByLabel('Admin token').fill(ADMIN_TOKEN);
      await operator.page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => operator.page.locator('main h1').textContent(), WAIT).toBe('All projects');
      const rowOf = (id: string) => operator.page.locator(`[data-testid="project-row"][data-project-id="${id}"]`);
      await expect.poll(() => rowOf(a.id).count(), WAIT).toBe(1);
      expect(await rowOf(b.id).count()).toBe(1);
      expect(await rowOf(a.id).locator('td[data-label="Endpoints"]').textContent()).toBe('1');
      await check(operator.page, 'operator');
      await operator.page.getByRole('button', { name: 'Sign out' }).click();
      await expect.poll(() => operator.page.locator('main h1').textContent(), WAIT).toBe('Herald portal');
      expect((await operator.context.cookies()).filter((c) => c.name.startsWith('herald_portal'))).toEqual([]);
      operator.expectOnly([]);
    } finally {
      await operator.context.close();
    }
  }, 60_000);
}
