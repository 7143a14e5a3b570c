import type { AddressInfo } from 'node:net';
import { describeDb } from '@herald/db/testing';
import type { ApiConfig } from '@herald/router';
import { serve } from '@hono/node-server';
import { expect, it, onTestFinished } from 'vitest';
import { createTestApp } from './harness';

const LIMIT = 3;

/** The app on a real socket on 127.0.0.1: the budgets need a socket peer. */
async function served(db: Parameters<typeof createTestApp>[0], config: Partial<ApiConfig>) {
  const { app } = createTestApp(db, { config: { rateLimit: { requests: LIMIT, windowSeconds: 60 }, ...config } });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  /** A keyless request "from" `forwardedFor` (the X-Forwarded-For a proxy would send). */
  return async (forwardedFor?: string) => {
    const response = await fetch(`${base}/v1/users`, {
      headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
    });
    await response.arrayBuffer();
    return response.status;
  };
}

describeDb('client addresses behind trusted proxies', (t) => {
  it('behind a trusted proxy each forwarded client has a budget of its own; what a client forwards itself is not believed', async () => {
    const from = await served(t.db, { trustedProxies: ['loopback'] });
    const statuses = [];
    for (let i = 0; i < LIMIT + 1; i++) statuses.push(await from('203.0.113.1'));
    expect(statuses).toEqual([...Array(LIMIT).fill(401), 429]);
    // Another client behind the same proxy is not locked out.
    expect(await from('203.0.113.2')).toBe(401);
    // The client at 203.0.113.1 claiming to be someone else: its proxy appended its real address.
    expect(await from('198.51.100.77, 203.0.113.1')).toBe(429);
    // An IPv6 host holds its whole /64: a new address in it is no new budget.
    for (let i = 0; i < LIMIT; i++) expect(await from(`2001:db8:0:1::${i + 1}`)).toBe(401);
    expect(await from('2001:db8:0:1::ffff')).toBe(429);
    expect(await from('2001:db8:0:2::1')).toBe(401);
  });

  it('without HERALD_TRUSTED_PROXIES, X-Forwarded-For buys no budget: the socket peer is the client', async () => {
    const from = await served(t.db, {});
    const statuses = [];
    for (let i = 0; i < LIMIT + 1; i++) statuses.push(await from(`203.0.113.${i + 1}`));
    expect(statuses).toEqual([...Array(LIMIT).fill(401), 429]);
  });

  it('a peer that is not a trusted proxy cannot pose as one', async () => {
    const from = await served(t.db, { trustedProxies: ['10.0.0.0/8'] });
    const statuses = [];
    for (let i = 0; i < LIMIT + 1; i++) statuses.push(await from(`203.0.113.${i + 1}`));
    expect(statuses).toEqual([...Array(LIMIT).fill(401), 429]);
  });
});
