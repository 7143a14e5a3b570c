import { describeDb } from '@herald/db/testing';
import { expect, it } from 'vitest';
import { createApp } from '../src/app';

const TOKEN = 'metrics-token-0123456789';
const metrics = async () => 'herald_in_flight_deliveries_by_project{project="prj_secret_tenant"} 1\n';

/**
 * `/metrics` names projects and endpoints. On the API's public port `pnpm start` serves it only
 * to a scraper holding HERALD_METRICS_TOKEN (a bearer token, compared in constant time), and not
 * at all without one; guesses spend the client address's budget.
 */
describeDb('the API port’s /metrics', (t) => {
  const app = (metricsAccess?: 'open' | { token: string } | false) =>
    createApp({
      db: t.db,
      metrics,
      sharedRateLimits: false,
      config: { rateLimit: { requests: 5, windowSeconds: 60 } },
      ...(metricsAccess === undefined ? {} : { metricsAccess }),
    });

  it('with a token: 401 without it or with another, 200 with it', async () => {
    const guarded = app({ token: TOKEN });
    const none = await guarded.request('/metrics');
    expect(none.status).toBe(401);
    const body = await none.text();
    expect(body).toContain('"unauthorized"');
    expect(body).not.toContain('prj_secret_tenant');
    expect((await guarded.request('/metrics', { headers: { authorization: 'Bearer guess' } })).status).toBe(401);
    const scraped = await guarded.request('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('prj_secret_tenant');
  });

  it('guesses spend the address budget: past it, 429', async () => {
    const guarded = app({ token: TOKEN });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await guarded.request('/metrics')).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429]);
  });

  it('not served when access is false; open to anyone when open (embedders on a private port)', async () => {
    expect((await app(false).request('/metrics')).status).toBe(404);
    expect((await app('open').request('/metrics')).status).toBe(200);
    expect((await app().request('/metrics')).status).toBe(200);
  });
});
