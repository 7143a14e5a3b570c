import type { Env } from '@herald/config';
import { EnvError, envFlag, envInt, envString, previousSecretKeysFromEnv, SECRET_KEY_MIN_LENGTH } from '@herald/config';
import { defaultDispatcherConfig, retentionFromEnv } from '@herald/delivery';
import { parseTrustedProxies } from './services/client-address';

export interface ApiConfig {
  /** Token for admin routes (creating projects); admin routes refuse all when unset. */
  adminToken: string | null;
  /** Largest request body accepted, in bytes. */
  bodyLimitBytes: number;
  /**
   * Requests per window per API key (per portal session, per client address without either), and
   * per project across all its keys (`projectRequests`; unset: no project budget).
   */
  rateLimit: { requests: number; windowSeconds: number; projectRequests?: number };
  /**
   * Most endpoints one project may have (`HERALD_MAX_ENDPOINTS_PER_PROJECT`, default 100; 409
   * `endpoint_limit_reached` beyond): what one tenant's fan-out and every claim's walk cost.
   */
  maxEndpointsPerProject: number;
  /**
   * `HERALD_PAYLOAD_RETENTION` (7 days): a manual retry of a delivery whose event is older is refused
   * (409), as it is once the payload expired. A delivery kept queued keeps its payload and its day,
   * so a retry a day of one a receiver always fails would have kept that day from retention for
   * every tenant, for ever.
   */
  payloadRetentionMs: number;
  /** Most procedures one tRPC batch may call (400 `batch_too_large` beyond); each counts against the rate limit. */
  maxBatchSize: number;
  idempotencyTtlSeconds: number;
  /** How long a verified API key is trusted without asking the database again. */
  apiKeyCacheMs: number;
  allowPrivateNetworks: boolean;
  /**
   * Proxies whose `X-Forwarded-For` is believed (`HERALD_TRUSTED_PROXIES`: addresses, CIDR ranges,
   * `loopback`, `private`). Empty: the socket peer is the client.
   */
  trustedProxies: string[];
  /**
   * Where browsers reach this API (`HERALD_PUBLIC_URL`, an origin such as `https://api.example.com`):
   * the origin of the portal links it mints. Unset: the request's `Host` (`X-Forwarded-Host` from a
   * trusted proxy only) and `X-Forwarded-Proto`.
   */
  publicUrl?: string;
  /**
   * The server secret idempotency fingerprints are HMACs under (`HERALD_SECRET_KEY`). Unset: a
   * random key of this process (`createPlatform` keeps one under an embedded data directory).
   */
  secretKey?: string;
  /**
   * The key a rotation of `secretKey` replaced (`HERALD_SECRET_KEY_PREVIOUS`; none or one): endpoint
   * signing secrets sealed under it still open (see `SecretBox` in @herald/db).
   */
  previousSecretKeys?: string[];
  /**
   * The password hashing threads (`HERALD_PASSWORD_THREADS`, 1–16) and the hashes allowed to wait
   * for one (`HERALD_PASSWORD_QUEUE`; 503 beyond). Read with the rest of the configuration so a bad
   * value stops start-up; `configurePasswordHashing(config.passwordHashing)` applies them (without
   * it, the pool reads the same variables with the same rules on the first hash).
   */
  passwordHashing: PasswordHashingConfig;
}

export interface PasswordHashingConfig {
  threads: number;
  maxQueue: number;
}

/** Default bound of hashes waiting for a worker (`HERALD_PASSWORD_QUEUE`). */
export const DEFAULT_PASSWORD_QUEUE = 16;
/** Default number of hashing threads (`HERALD_PASSWORD_THREADS`). */
export const DEFAULT_PASSWORD_THREADS = 2;

export const defaultApiConfig: ApiConfig = {
  adminToken: null,
  bodyLimitBytes: 256 * 1024,
  rateLimit: { requests: 100, windowSeconds: 1, projectRequests: 250 },
  maxBatchSize: 20,
  maxEndpointsPerProject: 100,
  payloadRetentionMs: defaultDispatcherConfig.payloadRetentionMs,
  idempotencyTtlSeconds: 24 * 60 * 60,
  apiKeyCacheMs: 2000,
  allowPrivateNetworks: false,
  trustedProxies: [],
  passwordHashing: { threads: DEFAULT_PASSWORD_THREADS, maxQueue: DEFAULT_PASSWORD_QUEUE },
};

export function apiConfigFromEnv(env: Env = process.env): ApiConfig {
  const d = defaultApiConfig;
  return {
    adminToken: adminTokenFromEnv(env),
    bodyLimitBytes: envInt(env, 'HERALD_BODY_LIMIT_BYTES', d.bodyLimitBytes),
    rateLimit: rateLimitFromEnv(env),
    maxBatchSize: envInt(env, 'HERALD_MAX_BATCH_SIZE', d.maxBatchSize, { min: 1 }),
    maxEndpointsPerProject: envInt(env, 'HERALD_MAX_ENDPOINTS_PER_PROJECT', d.maxEndpointsPerProject, { min: 1 }),
    payloadRetentionMs: retentionFromEnv(env).payloadRetentionMs,
    idempotencyTtlSeconds: envInt(env, 'HERALD_IDEMPOTENCY_TTL_SECONDS', d.idempotencyTtlSeconds),
    apiKeyCacheMs: envInt(env, 'HERALD_API_KEY_CACHE_MS', d.apiKeyCacheMs, { min: 0 }),
    allowPrivateNetworks: envFlag(env, 'HERALD_ALLOW_PRIVATE_NETWORKS'),
    trustedProxies: trustedProxiesFromEnv(env),
    ...publicUrlFromEnv(env),
    passwordHashing: passwordHashingFromEnv(env),
    previousSecretKeys: previousSecretKeysFromEnv(env),
  };
}

/** `HERALD_PASSWORD_THREADS` (1–16, default 2) and `HERALD_PASSWORD_QUEUE` (0 or more, default 16). */
export function passwordHashingFromEnv(env: Env = process.env): PasswordHashingConfig {
  return {
    threads: envInt(env, 'HERALD_PASSWORD_THREADS', DEFAULT_PASSWORD_THREADS, { max: 16 }),
    maxQueue: envInt(env, 'HERALD_PASSWORD_QUEUE', DEFAULT_PASSWORD_QUEUE, { min: 0 }),
  };
}

/**
 * `HERALD_ADMIN_TOKEN` may read and change every project; its guesses spend the address's
 * unknown-key budget (20 per 10 s by default, api-keys.ts), and in production it must be as long
 * as `HERALD_SECRET_KEY`. Errors never quote it.
 */
function adminTokenFromEnv(env: Env): string | null {
  const token = envString(env, 'HERALD_ADMIN_TOKEN');
  if (token === undefined) return null;
  if (envString(env, 'NODE_ENV') === 'production' && token.length < SECRET_KEY_MIN_LENGTH) {
    throw new EnvError(
      'HERALD_ADMIN_TOKEN',
      `must be at least ${SECRET_KEY_MIN_LENGTH} characters long when NODE_ENV=production, ` +
        'e.g. the output of `openssl rand -base64 32`',
    );
  }
  return token;
}

/** `HERALD_PUBLIC_URL`: an http(s) origin (a trailing `/` is dropped), nothing after it. */
function publicUrlFromEnv(env: Env): { publicUrl?: string } {
  const value = envString(env, 'HERALD_PUBLIC_URL');
  if (value === undefined) return {};
  const url = URL.canParse(value) ? new URL(value) : null;
  if (!url || !/^https?:$/.test(url.protocol) || url.pathname !== '/' || url.search || url.hash || url.username) {
    throw new EnvError(
      'HERALD_PUBLIC_URL',
      'must be the http(s) origin browsers reach this API at, with no path, e.g. https://api.example.com',
    );
  }
  return { publicUrl: url.origin };
}

/** A project's budget defaults to 2.5 keys' worth: room for a second key's work, not for ten. */
function rateLimitFromEnv(env: Env): ApiConfig['rateLimit'] {
  const d = defaultApiConfig.rateLimit;
  const requests = envInt(env, 'HERALD_RATE_LIMIT_REQUESTS', d.requests);
  return {
    requests,
    windowSeconds: envInt(env, 'HERALD_RATE_LIMIT_WINDOW_SECONDS', d.windowSeconds),
    projectRequests: envInt(env, 'HERALD_RATE_LIMIT_PROJECT_REQUESTS', Math.ceil(requests * 2.5)),
  };
}

function trustedProxiesFromEnv(env: Env): string[] {
  const text = envString(env, 'HERALD_TRUSTED_PROXIES');
  if (text === undefined) return [];
  try {
    return parseTrustedProxies(text);
  } catch (error) {
    throw new EnvError('HERALD_TRUSTED_PROXIES', (error as Error).message);
  }
}
