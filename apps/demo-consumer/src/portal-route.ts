import type { HeraldClient } from '@herald/client';
import { Hono } from 'hono';

/**
 * GET /portal: what a customer's dashboard does to hand its developers the
 * Herald portal. Each visit asks Herald for a fresh single-use link (links
 * last 15 minutes and open once) and sends the browser there.
 */
export function createPortalRoute(options: { heraldClient: HeraldClient }) {
  const route = new Hono();
  route.get('/portal', async (c) => {
    const { url } = await options.heraldClient.portalSessions.create.mutate({});
    c.header('cache-control', 'no-store');
    return c.redirect(url, 303);
  });
  return route;
}
