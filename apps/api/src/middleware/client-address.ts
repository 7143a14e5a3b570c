import { clientAddress, trustedProxies } from '@herald/router';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { HeraldEnv } from './request-context';

/**
 * Sets `clientAddress`: the socket peer, or behind trusted proxies (`HERALD_TRUSTED_PROXIES`) the
 * client they forwarded for. Budgets without a key or session are kept per this address. Sets
 * `fromTrustedProxy` too: only then does `X-Forwarded-Host` count (portal links' origin).
 */
export function clientAddressOf(trustedProxyEntries: readonly string[]) {
  const trusted = trustedProxyEntries.length > 0 ? trustedProxies(trustedProxyEntries) : null;
  return createMiddleware<HeraldEnv>(async (c, next) => {
    const peer = peerAddressOf(c);
    const viaProxy = trusted !== null && peer !== undefined && trusted.has(peer);
    c.set('clientAddress', trusted ? clientAddress(peer, c.req.header('x-forwarded-for') ?? null, trusted) : peer);
    c.set('fromTrustedProxy', viaProxy);
    await next();
  });
}

/** The socket's peer address; none for in-process `app.request()`. */
function peerAddressOf(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}
