export { SIGNING_SECRET_PREFIX } from '@herald/signing';
export type { ApiConfig } from './config';
export { apiConfigFromEnv, defaultApiConfig } from './config';
export type { ApiErrorBody, ApiErrorCode } from './errors';
export {
  apiError,
  httpStatusFor,
  INVALID_JSON_MESSAGE,
  RETRY_AFTER_UNAVAILABLE_SECONDS,
  SERVICE_UNAVAILABLE_MESSAGE,
  serviceUnavailable,
  toApiErrorBody,
} from './errors';
export { HIDDEN_HEADER_VALUE } from './procedures/deliveries/get-delivery-request';
export { toUser } from './procedures/users/user-schemas';
export type { ApiKeyIdentity, ApiKeyVerifierOptions } from './services/api-keys';
export {
  API_KEY_PREFIX,
  API_KEY_REVOKED_CHANNEL,
  ApiKeyVerifier,
  bearerToken,
  hashApiKey,
} from './services/api-keys';
export { changeWithEvents } from './services/change-with-events';
export type { TrustedProxies } from './services/client-address';
export { clientAddress, parseTrustedProxies, trustedProxies } from './services/client-address';
export { ERASED_ANSWER_STATUS } from './services/erasure';
export { legacyFailureFloorMs, projectHasLegacyHashes } from './services/legacy-password-floor';
export { closePasswordHashing, configurePasswordHashing, hashPassword } from './services/passwords';
export type { CheckLinkResult, NewPortalSession, OpenLinkResult, PortalSession } from './services/portal-sessions';
export {
  checkPortalLink,
  cookieOf,
  endPortalSession,
  findPortalSession,
  hasCsrfToken,
  isHttpsRequest,
  openPortalLink,
  PORTAL_CSRF_COOKIE,
  PORTAL_CSRF_HEADER,
  PORTAL_LINK_PREFIX,
  PORTAL_OPEN_PATH,
  PORTAL_SESSION_COOKIE,
  portalCookieNames,
  portalSessionOfRequest,
  startPortalSession,
} from './services/portal-sessions';
export { addressBucket } from './services/unknown-key-budget';
export type { ApiServices, CallBudget, Context } from './trpc/context';
export { createApiServices, createContext } from './trpc/context';
export type { Meta, OpenApiMeta } from './trpc/init';
export { matchesAdminToken, matchesSecret } from './trpc/init';
export type { AppRouter } from './trpc/router';
export { appRouter, createCaller } from './trpc/router';
