import { DEFAULT_TOLERANCE_SECONDS, decodeSecret, WebhookVerificationError } from '@herald/signing';

/** One secret, or every secret currently valid for the endpoint (several while one is rotated). */
export type WebhookSecrets = { secret: string; secrets?: never } | { secrets: readonly string[]; secret?: never };

export type WebhookOptions = WebhookSecrets & {
  /** Largest accepted difference between `webhook-timestamp` and now, in seconds, past or future. Default 300. */
  tolerance?: number;
  /** The receiver's clock (unix seconds or a Date). Default: the real clock. */
  now?: () => Date | number;
  /** Largest body read, in bytes (413 beyond). Default 1 MiB; Herald recommends payloads far below that. */
  maxBodyBytes?: number;
};

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/**
 * Standard Webhooks' range for a secret's decoded bytes (Herald makes 32). @herald/signing takes any
 * length, but a receiver's secret outside it is one cut short in copying (or not Herald's): it would
 * pass start-up and then fail every delivery with 401.
 */
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;

/** Options checked once, when the handler is created, so a bad secret fails at start-up and never per request. */
export interface ResolvedOptions {
  secrets: readonly string[];
  tolerance: number;
  now: () => Date | number;
  maxBodyBytes: number;
}

export function resolveOptions(options: WebhookOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('@herald/webhooks: options are required ({ secret | secrets, … })');
  }
  const secrets = options.secret !== undefined ? [options.secret] : options.secrets;
  if (options.secret !== undefined && options.secrets !== undefined) {
    throw new TypeError('@herald/webhooks: pass either `secret` or `secrets`, not both');
  }
  if (!Array.isArray(secrets) || secrets.length === 0) {
    throw new TypeError('@herald/webhooks: `secret` (a whsec_… string) or a non-empty `secrets` list is required');
  }
  // decodeSecret's error names the expected format, never the secret itself; so does the length check.
  for (const [index, secret] of secrets.entries()) {
    const bytes = decodeSecret(secret).byteLength;
    if (bytes < MIN_SECRET_BYTES || bytes > MAX_SECRET_BYTES) {
      const name = options.secret !== undefined ? '`secret`' : `\`secrets[${index}]\``;
      throw new WebhookVerificationError(
        'invalid_secret',
        `@herald/webhooks: ${name} decodes to ${bytes} bytes, but a Herald secret has ${MIN_SECRET_BYTES} to ` +
          `${MAX_SECRET_BYTES} ("whsec_" and 32 to 88 base64 characters): check that it was copied whole`,
      );
    }
  }

  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE_SECONDS;
  if (!Number.isFinite(tolerance) || tolerance < 0) {
    throw new RangeError('@herald/webhooks: `tolerance` must be a non-negative number of seconds');
  }
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes <= 0) {
    throw new RangeError('@herald/webhooks: `maxBodyBytes` must be a positive whole number');
  }
  return { secrets: [...secrets], tolerance, now: options.now ?? (() => Date.now() / 1000), maxBodyBytes };
}
