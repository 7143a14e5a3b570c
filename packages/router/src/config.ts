import type { Env } from '@herald/config';
import { EnvError, envFlag, envInt, envString } from '@herald/config';
import { parseTrustedProxies } from './services/client-address';

export interface ApiConfig {
  /** Token for admin routes (creating projects); admin routes refuse all when unset. */
  adminToken: string | null;
  /** Largest request body accepted, in bytes. */
  bodyLimitBytes: number;
  rateLimit: { requests: number; windowSeconds: number };
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
   * The server secret idempotency fingerprints are HMACs under (`HERALD_SECRET_KEY`). Unset: a
   * random key of this process (`createPlatform` keeps one under an embedded data directory).
   */
  secretKey?: string;
}

export const defaultApiConfig: ApiConfig = {
  adminToken: null,
  bodyLimitBytes: 256 * 1024,
  rateLimit: { requests: 100, windowSeconds: 1 },
  maxBatchSize: 20,
  idempotencyTtlSeconds: 24 * 60 * 60,
  apiKeyCacheMs: 2000,
  allowPrivateNetworks: false,
  trustedProxies: [],
};

export function apiConfigFromEnv(env: Env = process.env): ApiConfig {
  const d = defaultApiConfig;
  return {
    adminToken: envString(env, 'HERALD_ADMIN_TOKEN') ?? null,
    bodyLimitBytes: envInt(env, 'HERALD_BODY_LIMIT_BYTES', d.bodyLimitBytes),
    rateLimit: {
      requests: envInt(env, 'HERALD_RATE_LIMIT_REQUESTS', d.rateLimit.requests),
      windowSeconds: envInt(env, 'HERALD_RATE_LIMIT_WINDOW_SECONDS', d.rateLimit.windowSeconds),
    },
    maxBatchSize: envInt(env, 'HERALD_MAX_BATCH_SIZE', d.maxBatchSize, { min: 1 }),
    idempotencyTtlSeconds: envInt(env, 'HERALD_IDEMPOTENCY_TTL_SECONDS', d.idempotencyTtlSeconds),
    apiKeyCacheMs: envInt(env, 'HERALD_API_KEY_CACHE_MS', d.apiKeyCacheMs, { min: 0 }),
    allowPrivateNetworks: envFlag(env, 'HERALD_ALLOW_PRIVATE_NETWORKS'),
    trustedProxies: trustedProxiesFromEnv(env),
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
