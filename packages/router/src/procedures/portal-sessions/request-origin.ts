/**
 * The origin the caller reached the API at, for links it hands on: the
 * `Host` header, https behind a proxy that says so (`X-Forwarded-Proto`).
 * A made-up Host only gives its own sender a link that does not work.
 */
export function requestOrigin(headers: Headers): string {
  const host = headers.get('x-forwarded-host') ?? headers.get('host') ?? 'localhost';
  const proto = headers.get('x-forwarded-proto') === 'https' ? 'https' : 'http';
  const safeHost = /^[A-Za-z0-9.\-[\]:]+$/.test(host) ? host : 'localhost';
  return `${proto}://${safeHost}`;
}
