import { describeDb } from '@herald/db/testing';
import { expect, it, onTestFinished } from 'vitest';
import { listen } from '../src/server';
import type { TestAppOptions } from './harness';
import { createTenant, expectJson } from './harness';

/**
 * The origin of a portal link (a live single-use token): never a host the sender of
 * `X-Forwarded-Host` picks, unless that sender is a proxy the operator trusts.
 */
describeDb('portal link origin', (t) => {
  const mint = async (options: TestAppOptions, headers: Record<string, string>) => {
    const tenant = await createTenant(t.db, options);
    const server = await listen(tenant.testApp.app, { hostname: '127.0.0.1' });
    onTestFinished(() => server.close({ forceAfterMs: 0 }));
    const response = await fetch(`${server.url}/v1/portal-sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json', ...headers },
      body: '{}',
    });
    const { url } = await expectJson<{ url: string }>(response, 201);
    return { origin: new URL(url).origin, server };
  };
  const forwarded = { 'x-forwarded-host': 'attacker.example', 'x-forwarded-proto': 'https' };

  it("ignores X-Forwarded-Host from a client that is not a trusted proxy: the link goes to the request's Host", async () => {
    const { origin, server } = await mint({}, forwarded);
    expect(origin).toBe(`https://127.0.0.1:${server.port}`);
  });

  it('follows X-Forwarded-Host from a trusted proxy', async () => {
    const { origin } = await mint({ config: { trustedProxies: ['loopback'] } }, forwarded);
    expect(origin).toBe('https://attacker.example');
  });

  it('uses HERALD_PUBLIC_URL whatever the request says', async () => {
    const config = { publicUrl: 'https://api.example.com', trustedProxies: ['loopback'] };
    const { origin } = await mint({ config }, forwarded);
    expect(origin).toBe('https://api.example.com');
  });
});
