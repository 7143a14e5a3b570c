export { timingSafeEqualBytes, timingSafeEqualString } from './constant-time';
export { WebhookVerificationError, type WebhookVerificationErrorCode } from './errors';
export type { HeaderSource } from './headers';
export { decodeSecret, generateSecret } from './secret';
export { signHeaders, signPayload, type SignPayloadInput, type WebhookHeaders } from './sign';
export {
  DEFAULT_TOLERANCE_SECONDS,
  verify,
  verifyOrThrow,
  type VerifiedMessage,
  type VerifyOptions,
  type VerifyResult,
} from './verify';
