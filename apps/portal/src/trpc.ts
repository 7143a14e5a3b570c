import type { AppRouter } from '@herald/client';
import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';

/** The portal is the first customer of Herald's own typed client: `AppRouter` from @herald/client. */
export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();

export const CSRF_COOKIE = 'herald_portal_csrf';

/**
 * The CSRF cookie the server set with the session; echoed on every call (the server checks it on
 * changes). Behind an https proxy it is `__Host-` prefixed, which no sibling subdomain can set, and
 * preferred; a name sent twice counts as none (one of them was planted).
 */
export function csrfToken(): string | null {
  return cookieValue(`__Host-${CSRF_COOKIE}`) ?? cookieValue(CSRF_COOKIE);
}

function cookieValue(wanted: string): string | null {
  let found: string | null = null;
  for (const part of document.cookie.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name !== wanted) continue;
    if (found !== null) return null;
    found = value.join('=');
  }
  return found;
}

export function csrfHeaders(): Record<string, string> {
  const token = csrfToken();
  return token ? { 'x-herald-csrf': token } : {};
}

/** Same origin: the HttpOnly session cookie goes along by itself. */
export function createPortalClient() {
  return createTRPCClient<AppRouter>({
    links: [httpBatchLink({ url: '/trpc', headers: csrfHeaders })],
  });
}

/** The `{ code, message }` Herald put in a tRPC error, for showing. */
export function errorMessage(error: unknown): string {
  if (error instanceof TRPCClientError) {
    const herald = (error.data as { herald?: { message?: string } } | undefined)?.herald;
    return herald?.message ?? error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** An answer a retry would not change: a 4xx other than 429. */
export function isFinalAnswer(error: unknown): boolean {
  const status =
    error instanceof TRPCClientError ? (error.data as { httpStatus?: unknown } | undefined)?.httpStatus : null;
  return typeof status === 'number' && status >= 400 && status < 500 && status !== 429;
}
