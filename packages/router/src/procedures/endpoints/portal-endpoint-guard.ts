import { apiError } from '../../errors';

/**
 * What a portal session (`apiKeyId` null: the project's customer in a browser) may not change on an
 * endpoint. It sees the endpoint's custom headers' names, never their values (`toEndpoint`): they
 * often hold the receiver's credentials. So it may not set them, and it may not move an endpoint that
 * has them to another origin, where the next delivery (or a test event) would carry the hidden values
 * to a host of the session's choosing. A path on the same origin reaches the server that already
 * receives them. An API key may do both.
 */
export function assertPortalMayChangeEndpoint(
  caller: { apiKeyId: string | null },
  change: { headers?: unknown; url?: string },
  current?: { url: string; headers: Record<string, string> },
): void {
  if (caller.apiKeyId !== null) return;
  if (change.headers !== undefined) {
    throw apiError('forbidden', "A portal session may not set an endpoint's custom headers; use an API key");
  }
  if (change.url === undefined || !current || Object.keys(current.headers).length === 0) return;
  if (originOf(change.url) !== originOf(current.url)) {
    throw apiError(
      'forbidden',
      'This endpoint sends custom headers the portal cannot see; moving it to another origin needs an API key',
    );
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
