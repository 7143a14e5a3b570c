export { timingSafeEqualBytes, timingSafeEqualString } from './constant-time';
export { WebhookVerificationError, type WebhookVerificationErrorCode } from './errors';
export type { HeaderSource } from './headers';
export { decodeSecret, generateSecret, SIGNING_SECRET_PREFIX } from './secret';
export { type SignPayloadInput, signHeaders, signPayload, type WebhookHeaders } from './sign';
export {
  DEFAULT_TOLERANCE_SECONDS,
  type VerifiedMessage,
  type VerifyOptions,
  type VerifyResult,
  verify,
  verifyOrThrow,
} from './verify';
