export interface ApiConfig {
  /** Token for admin routes (creating projects); admin routes refuse all when unset. */
  adminToken: string | null;
  /** Largest request body accepted, in bytes. */
  bodyLimitBytes: number;
  rateLimit: { requests: number; windowSeconds: number };
  idempotencyTtlSeconds: number;
  /** How long a verified API key is trusted without asking the database again. */
  apiKeyCacheMs: number;
  allowPrivateNetworks: boolean;
}

export const defaultApiConfig: ApiConfig = {
  adminToken: null,
  bodyLimitBytes: 256 * 1024,
  rateLimit: { requests: 100, windowSeconds: 1 },
  idempotencyTtlSeconds: 24 * 60 * 60,
  apiKeyCacheMs: 2000,
  allowPrivateNetworks: false,
};

function positiveInt(name: string, fallback: number, env: NodeJS.ProcessEnv): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

export function apiConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  return {
    adminToken: env.HERALD_ADMIN_TOKEN || null,
    bodyLimitBytes: positiveInt('HERALD_BODY_LIMIT_BYTES', defaultApiConfig.bodyLimitBytes, env),
    rateLimit: {
      requests: positiveInt('HERALD_RATE_LIMIT_REQUESTS', defaultApiConfig.rateLimit.requests, env),
      windowSeconds: positiveInt('HERALD_RATE_LIMIT_WINDOW_SECONDS', defaultApiConfig.rateLimit.windowSeconds, env),
    },
    idempotencyTtlSeconds: positiveInt('HERALD_IDEMPOTENCY_TTL_SECONDS', defaultApiConfig.idempotencyTtlSeconds, env),
    apiKeyCacheMs: Number(env.HERALD_API_KEY_CACHE_MS ?? defaultApiConfig.apiKeyCacheMs),
    allowPrivateNetworks: env.HERALD_ALLOW_PRIVATE_NETWORKS === '1',
  };
}
