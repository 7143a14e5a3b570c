import type { Database, SecretBox } from '@herald/db';
import { secretBox } from '@herald/db';
import type { DeliveryWakeup } from '@herald/delivery';
import type { Logger } from 'pino';
import type { ApiConfig } from '../config';
import { defaultApiConfig } from '../config';
import { ApiKeyVerifier } from '../services/api-keys';
import { matchesAdminToken } from './init';

/** Long-lived collaborators shared by every request of one API process. */
export interface ApiServices {
  config: ApiConfig;
  apiKeys: ApiKeyVerifier;
  /** Seals endpoint signing secrets before they are stored, opens them to show them (`config.secretKey`). */
  secretBox: SecretBox;
  /** Wakes dispatchers after a commit that created deliveries. */
  wakeup: Pick<DeliveryWakeup, 'notify'>;
  logger?: Logger;
  /**
   * Set while a procedure runs inside a transaction that commits after it returns (an idempotent
   * request on PostgreSQL): runs `fn` once that commit is done. Unset, the procedure's writes are
   * committed when it returns, and such work runs then.
   */
  afterCommit?: (fn: () => void) => void;
  /**
   * Set with `afterCommit`: the answer must not leave before `performance.now()` reaches
   * `deadline`, and the HTTP layer waits for it after the commit, so the transaction (its
   * connection, its locks) is not held while nothing happens. Unset, the procedure waits itself.
   */
  holdAnswerUntil?: (deadline: number) => void;
  /**
   * Set while the HTTP layer will store this request's answer for replay (an Idempotency-Key): a
   * user this request erased, as the marks of their data in an answer (`erasedAddressMarks`). A
   * stored answer that shows any keeps no body, as erasure leaves the records stored before it.
   */
  erasedFromAnswer?: (marks: string[]) => void;
  /**
   * Set when the request's calls run in one transaction that stores its answer (an
   * Idempotency-Key request on PostgreSQL): password work there goes first in its project's line
   * (`passwordTurnOf`).
   */
  inRequestTransaction?: boolean;
}

export function createApiServices(db: Database, overrides: Partial<Omit<ApiServices, 'apiKeys'>> = {}): ApiServices {
  const config = overrides.config ?? defaultApiConfig;
  return {
    config,
    apiKeys: new ApiKeyVerifier(db, config.apiKeyCacheMs, {
      isAdminToken: (token) => matchesAdminToken(config.adminToken, token),
    }),
    secretBox:
      overrides.secretBox ??
      secretBox({
        current: config.secretKey,
        ...(config.previousSecretKeys ? { previous: config.previousSecretKeys } : {}),
      }),
    wakeup: overrides.wakeup ?? { notify() {} },
    ...(overrides.logger ? { logger: overrides.logger } : {}),
  };
}

/**
 * The share of the rate limit an HTTP request was granted for its procedure
 * calls: a tRPC batch is one call per procedure, each taking one unit.
 */
export interface CallBudget {
  /** Takes one call's unit; false once the grant is spent. */
  take(): boolean;
  /** Seconds until the rate-limit window ends (`Retry-After` of the calls refused). */
  readonly retryAfterSeconds: number;
  /** The policy, for the refusal's message: `100 requests per 1 s`. */
  readonly policy: string;
}

export interface ContextInput {
  headers: Headers;
  db: Database;
  services?: ApiServices;
  /** Set by the HTTP layer's rate limit; direct callers (REST, tests) have no per-call limit. */
  callBudget?: CallBudget | undefined;
  /** Runs each call of the request in turn (calls sharing one transaction must not interleave). */
  serialCalls?: (<T>(call: () => Promise<T>) => Promise<T>) | undefined;
  /**
   * The request came through a proxy in `HERALD_TRUSTED_PROXIES` (the HTTP layer knows the socket's
   * peer): its `X-Forwarded-Host` may name the origin of links the API mints (`requestOrigin`).
   */
  fromTrustedProxy?: boolean | undefined;
}

/**
 * Built from plain request headers and a database, not from an HTTP
 * adapter, so tests can call the router directly with `createCaller`.
 */
export function createContext({ headers, db, services, callBudget, serialCalls, fromTrustedProxy }: ContextInput) {
  return {
    headers,
    fromTrustedProxy: fromTrustedProxy ?? false,
    db,
    services: services ?? createApiServices(db),
    callBudget: callBudget ?? null,
    serialCalls: serialCalls ?? null,
  };
}

export type Context = ReturnType<typeof createContext>;
