import type { ApiErrorBody, ApiErrorCode } from '@herald/router';
import {
  API_KEY_PREFIX,
  HIDDEN_HEADER_VALUE,
  httpStatusFor,
  PORTAL_LINK_PREFIX,
  SIGNING_SECRET_PREFIX,
} from '@herald/router';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';

/**
 * How an idempotent request came in. REST answers `{ error }` bodies; tRPC
 * answers its own envelope (`{ result }` / `{ error }`, an array of them for
 * a batch) with the status in the HTTP status (207 when a batch's calls differ).
 */
export type Protocol = { kind: 'rest' } | { kind: 'trpc'; procedures: string[]; batch: boolean };

export function protocolOf(path: string, query: (name: string) => string | undefined): Protocol {
  if (!path.startsWith('/trpc/')) return { kind: 'rest' };
  const raw = path.slice('/trpc/'.length);
  let procedures: string[];
  try {
    procedures = decodeURIComponent(raw).split(',');
  } catch {
    procedures = raw.split(','); // a malformed escape (`%FF`): tRPC answers 404 for it; named as sent
  }
  return { kind: 'trpc', procedures, batch: query('batch') === '1' };
}

/**
 * Answers never stored, so a retry with the same key runs the request:
 * - transient ones, which say "not now" (408, 429, every 5xx): replaying
 *   them would repeat an outage or a rate limit for the key's whole TTL;
 *   the middleware's own 409 "in flight" is answered before any claim and
 *   never reaches here;
 * - those that say the request was refused before it ran (400, 401, 405, 413,
 *   415): the client fixes the request and sends it again under the same key.
 */
export function isStorableStatus(status: number): boolean {
  return !(status === 408 || status === 429 || status >= 500 || REFUSED_BEFORE_RUNNING.has(status));
}
const REFUSED_BEFORE_RUNNING = new Set([400, 401, 405, 413, 415]);

/**
 * What a replay answers, or null when the answer is not stored.
 *
 * A tRPC batch is one request: it is stored and replayed whole as soon as
 * one of its calls has a storable answer, since that call must not run
 * twice; its transient calls are then replayed as they were answered (the
 * client retries those under a new key). A batch whose calls all have
 * answers that are not stored is not stored.
 *
 * A secret shown once is never stored (API keys and portal links are kept only as hashes, signing
 * secrets only where rotation reaches them): the replay of its creation is a 409 `conflict` saying
 * what was created (`shownOnce`).
 */
export function storedAnswer(
  protocol: Protocol,
  status: number,
  body: string,
): { status: number; body: string } | null {
  if (protocol.kind === 'rest') {
    if (!isStorableStatus(status)) return null;
    const parsedRest = parseJson(body);
    const created = shownOnce(parsedRest);
    if (created) return { status: httpStatusFor.conflict, body: JSON.stringify(notReplayed(created)) };
    const hidden = withHeaderValuesHidden(parsedRest);
    return { status, body: hidden === null ? body : JSON.stringify(hidden) };
  }
  const parsed = parseJson(body);
  const calls: unknown[] | null = Array.isArray(parsed) ? parsed : isObject(parsed) ? [parsed] : null;
  // Not a tRPC answer this can read (a stream, which the middleware refuses before it runs): never
  // stored, since a secret shown once in it could not be found and left out.
  if (!calls) return null;
  if (!calls.map(trpcStatusOf).some(isStorableStatus)) return null;
  let replaced = false;
  const stored = calls.map((call, i) => {
    const result = isObject(call) && isObject(call.result) ? call.result : null;
    const created = result ? shownOnce(result.data) : null;
    if (!created) {
      const hidden = result ? withHeaderValuesHidden(result.data) : null;
      if (hidden === null || !isObject(call)) return call;
      replaced = true;
      return { ...call, result: { ...result, data: hidden } };
    }
    replaced = true;
    const error = notReplayed(created);
    return trpcError('conflict', error.error.message, protocol.procedures[i], error.error.details);
  });
  if (!replaced) return { status, body };
  const statuses = new Set(stored.map(trpcStatusOf));
  return {
    status: statuses.size === 1 ? [...statuses][0]! : 207,
    body: JSON.stringify(Array.isArray(parsed) ? stored : stored[0]),
  };
}

/** The middleware's own errors, in the envelope the caller's protocol expects. */
export function errorBody(protocol: Protocol, code: ApiErrorCode, message: string): unknown {
  if (protocol.kind === 'rest') return { error: { code, message } } satisfies ApiErrorBody;
  const errors = protocol.procedures.map((path) => trpcError(code, message, path));
  return protocol.batch ? errors : errors[0];
}

const trpcCodeOf: Partial<Record<ApiErrorCode, TRPC_ERROR_CODE_KEY>> = {
  validation_error: 'BAD_REQUEST',
  conflict: 'CONFLICT',
  idempotency_key_reused: 'UNPROCESSABLE_CONTENT',
  idempotency_request_in_flight: 'CONFLICT',
  service_unavailable: 'SERVICE_UNAVAILABLE',
};

/** The shape the router's error formatter gives every tRPC error (`data.herald` is the REST error). */
function trpcError(code: ApiErrorCode, message: string, path: string | undefined, details?: unknown) {
  const trpcCode = trpcCodeOf[code] ?? 'INTERNAL_SERVER_ERROR';
  return {
    error: {
      message,
      code: TRPC_ERROR_CODES_BY_KEY[trpcCode],
      data: {
        code: trpcCode,
        httpStatus: httpStatusFor[code],
        ...(path === undefined ? {} : { path }),
        herald: { code, message, ...(details === undefined ? {} : { details }) },
      },
    },
  };
}

function trpcStatusOf(call: unknown): number {
  if (!isObject(call) || !isObject(call.error)) return 200;
  const data = call.error.data;
  return isObject(data) && typeof data.httpStatus === 'number' ? data.httpStatus : 500;
}

/** What an answer shows once and the database keeps only as a hash. */
type ShownOnce =
  | { kind: 'apiKey'; id: string | null }
  | { kind: 'portalLink' }
  | { kind: 'signingSecret'; endpointId: string | null };

/**
 * The secret an answer shows once, or null: a new API key (`apiKeys.create`, and a project's first
 * key under `apiKey`), a portal link (`portalSessions.create`: its URL carries the token), or an
 * endpoint's signing secret (`endpoints.create`, `endpoints.createListen`, `endpoints.rotateSecret`).
 * A signing secret stays readable (`GET /v1/endpoints/{id}/secret`), but a stored copy would outlive
 * a rotation or the endpoint's deletion for the key's whole TTL, in a table nobody rotates.
 */
function shownOnce(value: unknown): ShownOnce | null {
  if (!isObject(value)) return null;
  if (typeof value.key === 'string' && value.key.startsWith(API_KEY_PREFIX)) {
    return { kind: 'apiKey', id: typeof value.id === 'string' ? value.id : null };
  }
  if (isObject(value.apiKey)) return shownOnce(value.apiKey);
  if (typeof value.url === 'string' && value.url.includes(`token=${PORTAL_LINK_PREFIX}`)) return { kind: 'portalLink' };
  if (typeof value.secret === 'string' && value.secret.startsWith(SIGNING_SECRET_PREFIX)) {
    const endpoint = value.endpoint;
    return {
      kind: 'signingSecret',
      endpointId: isObject(endpoint) && typeof endpoint.id === 'string' ? endpoint.id : null,
    };
  }
  return null;
}

/**
 * `value` with the custom header values of the endpoint it is (or holds as `endpoint`) hidden, as a
 * portal session sees them; null when it shows none. They are the receiver's credentials: a
 * stored answer to a keyed `endpoints.update` kept them for the key's whole TTL, and replayed them
 * after they were changed or the endpoint deleted.
 */
function withHeaderValuesHidden(value: unknown): unknown {
  if (!isObject(value)) return null;
  if (isObject(value.endpoint)) {
    const endpoint = withHeaderValuesHidden(value.endpoint);
    return endpoint === null ? null : { ...value, endpoint };
  }
  const isEndpoint = typeof value.id === 'string' && value.id.startsWith('ep_') && isObject(value.headers);
  if (!isEndpoint) return null;
  const names = Object.keys(value.headers as Record<string, unknown>);
  if (names.length === 0) return null;
  return { ...value, headers: Object.fromEntries(names.map((name) => [name, HIDDEN_HEADER_VALUE])) };
}

function notReplayed(created: ShownOnce): ApiErrorBody {
  if (created.kind === 'signingSecret') {
    const what = created.endpointId === null ? "rotated an endpoint's signing secret" : 'created an endpoint';
    return {
      error: {
        code: 'conflict',
        message:
          `This Idempotency-Key already ${what}; its signing secret is not replayed. ` +
          'Read it with GET /v1/endpoints/{id}/secret.',
        ...(created.endpointId === null ? {} : { details: { id: created.endpointId } }),
      },
    };
  }
  if (created.kind === 'portalLink') {
    return {
      error: {
        code: 'conflict',
        message:
          'This Idempotency-Key already created a portal link, which is single-use and not replayed. ' +
          'Create a new link (with a new key) if it was lost.',
      },
    };
  }
  return {
    error: {
      code: 'conflict',
      message:
        'This Idempotency-Key already created an API key, whose secret is shown only once and is not replayed. ' +
        'Revoke that key and create a new one if the secret was lost.',
      details: { id: created.id },
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
