import { createHash, randomBytes } from 'node:crypto';
import type { Database, Queryable } from '@herald/db';
import { apiKeys, newId } from '@herald/db';
import { and, eq, isNull, sql } from 'drizzle-orm';

export const API_KEY_PREFIX = 'sk_';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A new key: shown to its owner once, stored only as its SHA-256. */
export function mintApiKey(): { key: string; keyPrefix: string; keyHash: string } {
  const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { key, keyPrefix: key.slice(0, API_KEY_PREFIX.length + 8), keyHash: hashApiKey(key) };
}

export async function insertApiKey(db: Queryable, projectId: string, name: string) {
  const minted = mintApiKey();
  const [row] = await db
    .insert(apiKeys)
    .values({ id: newId('apiKey'), projectId, name, keyPrefix: minted.keyPrefix, keyHash: minted.keyHash })
    .returning();
  return { row: row!, key: minted.key };
}

export interface ApiKeyIdentity {
  apiKeyId: string;
  projectId: string;
}

/**
 * Looks up bearer keys, remembering answers for a short time so a busy key
 * does not cost a query per request. The database stays the source of
 * truth: a revocation is seen at once by the process that made it and by
 * every other process within `ttlMs`.
 */
export class ApiKeyVerifier {
  private readonly cache = new Map<string, { identity: ApiKeyIdentity | null; expiresAt: number }>();
  /** One answer per request: the rate limiter, idempotency and the procedure all ask. */
  private readonly perRequest = new WeakMap<Headers, Promise<ApiKeyIdentity | null>>();

  constructor(
    private readonly db: Database,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  /** The identity behind a request's `Authorization: Bearer` key, or null. */
  identify(headers: Headers): Promise<ApiKeyIdentity | null> {
    let answer = this.perRequest.get(headers);
    if (!answer) {
      const token = bearerToken(headers);
      answer = token ? this.verify(token) : Promise.resolve(null);
      this.perRequest.set(headers, answer);
    }
    return answer;
  }

  async verify(key: string): Promise<ApiKeyIdentity | null> {
    if (!key.startsWith(API_KEY_PREFIX) || key.length > 200) return null;
    const keyHash = hashApiKey(key);
    const now = Date.now();
    const cached = this.cache.get(keyHash);
    if (cached && cached.expiresAt > now) return cached.identity;

    const [row] = await this.db
      .select({ apiKeyId: apiKeys.id, projectId: apiKeys.projectId })
      .from(apiKeys)
      .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)))
      .limit(1);
    const identity = row ?? null;
    if (identity) this.touch(identity.apiKeyId);
    if (this.ttlMs > 0) {
      if (this.cache.size >= this.maxEntries) this.cache.clear();
      this.cache.set(keyHash, { identity, expiresAt: now + this.ttlMs });
    }
    return identity;
  }

  /**
   * Records when a key was last used, at cache-miss granularity (every
   * `ttlMs` at most per key and process), off the request's critical path.
   */
  private touch(apiKeyId: string): void {
    this.db
      .update(apiKeys)
      .set({ lastUsedAt: sql`now()` })
      .where(
        and(
          eq(apiKeys.id, apiKeyId),
          sql`(${apiKeys.lastUsedAt} is null or ${apiKeys.lastUsedAt} < now() - interval '1 minute')`,
        ),
      )
      .catch(() => {
        // Bookkeeping only: a failure here must not fail the request.
      });
  }

  /** Forget every cached answer about one key (after it is revoked here). */
  forgetKey(apiKeyId: string): void {
    for (const [hash, entry] of this.cache) {
      if (entry.identity?.apiKeyId === apiKeyId) this.cache.delete(hash);
    }
  }
}

export function bearerToken(headers: Headers): string | null {
  const value = headers.get('authorization');
  if (!value) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value);
  return match?.[1] ?? null;
}
