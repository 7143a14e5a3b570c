/**
 * The origin the caller reached the API at, for links it hands on (a portal link): the configured
 * public URL (`HERALD_PUBLIC_URL`) when there is one; else the `Host` header, or `X-Forwarded-Host`
 * when the HTTP layer found the request came through a trusted proxy (`forwardedHost`), and https
 * behind a proxy that says so (`X-Forwarded-Proto`). Anyone else's `X-Forwarded-Host` is ignored:
 * a tenant's backend that passes its own callers' headers on, or a proxy that passes it through,
 * would otherwise hand a live single-use token to a host of the sender's choosing. A made-up Host
 * only gives its own sender a link that does not work.
 */
export function requestOrigin(headers: Headers, options: { publicUrl?: string; forwardedHost?: boolean } = {}): string {
  if (options.publicUrl) return options.publicUrl;
  const forwarded = options.forwardedHost ? headers.get('x-forwarded-host') : null;
  const host = forwarded ?? headers.get('host') ?? 'localhost';
  const proto = headers.get('x-forwarded-proto') === 'https' ? 'https' : 'http';
  const safeHost = /^[A-Za-z0-9.\-[\]:]+$/.test(host) ? host : 'localhost';
  return `${proto}://${safeHost}`;
}
