import type { WebhookVerificationErrorCode } from '@herald/signing';

export type WebhookRejectionCode =
  | WebhookVerificationErrorCode
  | 'invalid_payload'
  | 'payload_too_large'
  | 'raw_body_unavailable';

/** Why a request was refused, with the HTTP status to answer. Safe to log and to send: no secret material. */
export interface WebhookRejection {
  status: 400 | 401 | 413 | 500;
  code: WebhookRejectionCode;
  message: string;
  details?: unknown;
}

/** The JSON body every adapter answers a rejection with. */
export function rejectionBody(rejection: WebhookRejection): {
  error: { code: WebhookRejectionCode; message: string; details?: unknown };
} {
  const { code, message, details } = rejection;
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/**
 * A wrong or missing signature means the sender is not who it claims: 401.
 * Everything else the sender got wrong (headers, clock, body) is a bad request: 400.
 * Our own configuration (an unusable secret, a body parser that ate the raw body) is 500,
 * so Herald keeps retrying until it is fixed.
 */
export function statusOf(code: WebhookRejectionCode): WebhookRejection['status'] {
  switch (code) {
    case 'no_matching_signature':
      return 401;
    case 'payload_too_large':
      return 413;
    case 'invalid_secret':
    case 'raw_body_unavailable':
      return 500;
    default:
      return 400;
  }
}

export function rejection(code: WebhookRejectionCode, message: string, details?: unknown): WebhookRejection {
  return details === undefined
    ? { status: statusOf(code), code, message }
    : { status: statusOf(code), code, message, details };
}

export const RAW_BODY_UNAVAILABLE_MESSAGE =
  'The raw request body was already consumed and parsed by another middleware, so its signature cannot be ' +
  'checked: mount the Herald webhook handler before any JSON body parser (see the @herald/webhooks README)';
