import type { MiddlewareHandler } from 'hono';

/**
 * Guards for the routes that act with the project's API key or hand out portal links. The consumer
 * listens on this machine only, but a browser is a way in from any web page:
 *
 * - a page on another site can POST to http://127.0.0.1:4000/actions/delete-user (a "simple" request
 *   needs no CORS preflight; only its answer is hidden from the page, the action still runs);
 * - DNS rebinding: a name the attacker controls answers with 127.0.0.1, and its page then reads this
 *   server's answers as same-origin, with the attacker's name in the Host header.
 */

/** The names a browser on this machine uses for the consumer. */
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

/** Methods that only read; everything else changes something. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A host name as a Host header carries it, lowercased: IPv6 addresses in brackets. */
function normalizeHost(name: string): string {
  const lower = name.trim().toLowerCase();
  return lower.includes(':') && !lower.startsWith('[') ? `[${lower}]` : lower;
}

/** The host name of a Host header, without its port: `[::1]:4000` → `[::1]`. */
function hostnameOf(header: string): string {
  const host = header.trim().toLowerCase();
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.indexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

/**
 * Refuses (403) a request whose Host is not a loopback name or one of `hosts` (the address the
 * consumer was started on): a rebound DNS name cannot read or drive it.
 */
export function requireLocalHost(hosts: readonly string[] = []): MiddlewareHandler {
  const allowed = new Set([...LOOPBACK_HOSTS, ...hosts.map(normalizeHost)]);
  return async (c, next) => {
    const host = c.req.header('host');
    if (host === undefined || !allowed.has(hostnameOf(host))) {
      return c.json(
        { error: { code: 'forbidden_host', message: 'open the demo consumer as localhost or 127.0.0.1' } },
        403,
      );
    }
    await next();
  };
}

/**
 * Refuses (403) a state-changing request another site made: the browser says so in Sec-Fetch-Site
 * (`same-site` too: another port or subdomain is another origin), or in an Origin that is not this
 * server's own. Requests without either header (curl, tests, older browsers' same-origin requests)
 * pass: the browser always sends Origin on a cross-origin POST.
 */
export function requireSameOrigin(): MiddlewareHandler {
  return async (c, next) => {
    if (!SAFE_METHODS.has(c.req.method)) {
      const site = c.req.header('sec-fetch-site');
      const origin = c.req.header('origin');
      if (
        site === 'cross-site' ||
        site === 'same-site' ||
        (origin !== undefined && origin !== new URL(c.req.url).origin)
      ) {
        return c.json(
          { error: { code: 'cross_site_request', message: 'actions can only be started from the demo page' } },
          403,
        );
      }
    }
    await next();
  };
}
