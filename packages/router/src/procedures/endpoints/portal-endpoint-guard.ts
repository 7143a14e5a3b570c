import { apiError } from '../../errors';

/**
 * What a portal session (`apiKeyId` null: the project's customer in a browser) may not change on an
 * endpoint. It sees the endpoint's custom headers' names, never their values (`toEndpoint`): they
 * often hold the receiver's credentials. So it may not set them, and it may not point an endpoint
 * that has them anywhere else, where the next delivery (or a test event) would carry the hidden
 * values to a receiver of the session's choosing. Not even a path on the same origin: many webhook
 * hosts (Zapier, Make, Discord) serve every account on one origin and pick it by path. An API key
 * may do both.
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
  if (current && portalMovesEndpoint(caller, change) && change.url !== current.url) {
    if (Object.keys(current.headers).length > 0) throw headersHiddenHere();
  }
}

/** A portal session's change of the URL: the update must then find the endpoint still without custom headers. */
export function portalMovesEndpoint(caller: { apiKeyId: string | null }, change: { url?: string }): boolean {
  return caller.apiKeyId === null && change.url !== undefined;
}

export function headersHiddenHere() {
  return apiError(
    'forbidden',
    'This endpoint sends custom headers the portal cannot see; changing its URL needs an API key',
  );
}
