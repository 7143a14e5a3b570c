import type { Database } from '@herald/db';
import type { DeliveryWakeup } from '@herald/delivery';
import type { Logger } from 'pino';
import type { ApiConfig } from '../config';
import { defaultApiConfig } from '../config';
import { ApiKeyVerifier } from '../services/api-keys';

/** Long-lived collaborators shared by every request of one API process. */
export interface ApiServices {
  config: ApiConfig;
  apiKeys: ApiKeyVerifier;
  /** Wakes dispatchers after a commit that created deliveries. */
  wakeup: Pick<DeliveryWakeup, 'notify'>;
  logger?: Logger;
}

export function createApiServices(db: Database, overrides: Partial<Omit<ApiServices, 'apiKeys'>> = {}): ApiServices {
  const config = overrides.config ?? defaultApiConfig;
  return {
    config,
    apiKeys: new ApiKeyVerifier(db, config.apiKeyCacheMs),
    wakeup: overrides.wakeup ?? { notify() {} },
    ...(overrides.logger ? { logger: overrides.logger } : {}),
  };
}

export interface ContextInput {
  headers: Headers;
  db: Database;
  services?: ApiServices;
}

/**
 * Built from plain request headers and a database, not from an HTTP
 * adapter, so tests can call the router directly with `createCaller`.
 */
export function createContext({ headers, db, services }: ContextInput) {
  return { headers, db, services: services ?? createApiServices(db) };
}

export type Context = ReturnType<typeof createContext>;
