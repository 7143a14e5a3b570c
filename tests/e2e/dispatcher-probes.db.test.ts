import { describeDb } from '@herald/db/testing';
import { expect, it } from 'vitest';
import { spawnDispatcher } from './harness';

/** A standalone dispatcher's operator port answers the probes an orchestrator sends, as the API's does. */
describeDb('the standalone dispatcher’s probes', (t) => {
  it('serves /healthz, /readyz and /metrics on METRICS_PORT; anything else is 404', async (ctx) => {
    if (t.driver !== 'postgres')
      return ctx.skip('needs PostgreSQL: a dispatcher process cannot open the test’s PGlite');
    const proc = spawnDispatcher({ DATABASE_URL: t.url! });
    await proc.ready;
    const metricsUrl = /"metrics":"([^"]+)"/.exec(proc.output())?.[1];
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const base = metricsUrl!.replace(/\/metrics$/, '');
    const healthz = await fetch(`${base}/healthz`);
    expect([healthz.status, await healthz.json()]).toEqual([200, { status: 'ok' }]);
    const readyz = await fetch(`${base}/readyz`);
    expect([readyz.status, await readyz.json()]).toEqual([200, { status: 'ready' }]);
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('herald_');
    expect((await fetch(`${base}/elsewhere`)).status).toBe(404);
    proc.terminate();
    expect((await proc.exited).code).toBe(0);
  });
});
