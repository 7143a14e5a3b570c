import { hash, randomBytes } from 'node:crypto';
import type { Database, Queryable } from '@herald/db';
import { apiKeys, newId } from '@herald/db';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { ApiErrorCause } from '../errors';
import { apiError } from '../errors';
import { LruMap } from './lru';
import type { UnknownKeyBudgetPolicy } from './unknown-key-budget';
import { UnknownKeyBudget } from './unknown-key-budget';

export const API_KEY_PREFIX = 'sk_';

export function hashApiKey(key: string): string {
  // The one-shot `hash` (Node ≥ 20.12): a third of `createHash(…).update(…).digest(…)`'s time, on every request.
  return hash('sha256', key, 'hex');
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

export interface ApiKeyVerifierOptions {
  /** Valid keys kept (least recently used evicted first). */
  maxEntries?: number;
  /** How long a key the database does not know (or knows revoked) is answered 401 without a query. */
  unknownTtlMs?: number;
  /** Unknown keys kept, apart from the valid ones so a flood of made-up keys cannot evict them. */
  maxUnknownEntries?: number;
  /** Lookups of keys not known to be valid, per client address: past it, 429 before the database is asked. */
  unknownKeyBudget?: UnknownKeyBudgetPolicy;
  now?: () => number;
  /**
   * The admin token (`HERALD_ADMIN_TOKEN`), which is no API key: any other bearer token that is
   * not an API key spends the address's budget too, so the admin token is guessed no faster than
   * a key.
   */
  isAdminToken?: (token: string) => boolean;
  /**
   * Test seam: runs after every database lookup, before its answer is used
   * or cached (tests count lookups and hold one here across a revocation).
   */
  afterLookup?: (keyHash: string) => void | Promise<void>;
}

/** Defaults: 10,000 valid and 10,000 unknown keys; unknown keys remembered 10 s; 20 misses per address per 10 s. */
export const apiKeyVerifierDefaults = {
  maxEntries: 10_000,
  unknownTtlMs: 10_000,
  maxUnknownEntries: 10_000,
  unknownKeyBudget: { lookups: 20, windowSeconds: 10 },
} as const satisfies ApiKeyVerifierOptions;

const UNKNOWN_KEYS_MESSAGE = 'Too many requests with unknown API keys or tokens from this address; retry later';

/**
 * Looks up bearer keys, remembering answers for a short time so a busy key
 * does not cost a query per request. The database stays the source of
 * truth: a revocation is seen at once by the process that made it and by
 * every other process within `ttlMs` (`HERALD_API_KEY_CACHE_MS`).
 *
 * Unknown keys are remembered for `unknownTtlMs` in their own LRU, and each
 * client address may make only so many lookups of keys not known to be
 * valid (`unknownKeyBudget`); past that its requests answer 429 before the
 * database is asked. A valid key already cached is never refused.
 */
/**
 * The PostgreSQL channel a revocation is announced on (payload: the key's id), so that every API
 * process of the database forgets its cached answer at once rather than after `HERALD_API_KEY_CACHE_MS`.
 * The cache time still bounds it if a notification is lost (a LISTEN connection that was away).
 */
export const API_KEY_REVOKED_CHANNEL = 'herald_api_key_revoked';

export class ApiKeyVerifier {
  private readonly valid: LruMap<string, { identity: ApiKeyIdentity; expiresAt: number }>;
  private readonly unknown: LruMap<string, number>;
  private readonly budget: UnknownKeyBudget;
  private readonly now: () => number;
  private readonly afterLookup: ApiKeyVerifierOptions['afterLookup'];
  private readonly isAdminToken: ApiKeyVerifierOptions['isAdminToken'];
  private readonly unknownTtlMs: number;
  /** One database lookup per key at a time; later askers share its answer. */
  private readonly inFlight = new Map<string, Promise<ApiKeyIdentity | null>>();
  /** One answer per request: the rate limiter, idempotency and the procedure all ask. */
  private readonly perRequest = new WeakMap<Headers, Promise<ApiKeyIdentity | null>>();
  /**
   * Revocations made here, numbered: a lookup that started before a key's
   * revocation must not answer or cache it as valid when it finishes after.
   * Kept only while lookups that could have started earlier are running.
   */
  private revocations = 0;
  private readonly revokedAt = new Map<string, number>();
  private lookupsRunning = 0;

  constructor(
    private readonly db: Database,
    private readonly ttlMs: number,
    options: ApiKeyVerifierOptions = {},
  ) {
    const settings = { ...apiKeyVerifierDefaults, ...options };
    this.valid = new LruMap(settings.maxEntries);
    this.unknown = new LruMap(settings.maxUnknownEntries);
    this.unknownTtlMs = settings.unknownTtlMs;
    this.now = options.now ?? Date.now;
    this.budget = new UnknownKeyBudget(settings.unknownKeyBudget, this.now);
    this.afterLookup = options.afterLookup;
    this.isAdminToken = options.isAdminToken;
  }

  /**
   * The identity behind a request's `Authorization: Bearer` key, or null.
   * `clientAddress` (the socket's peer) subjects the lookup to that
   * address's budget; past it this rejects with a 429 `rate_limited` error.
   */
  identify(headers: Headers, clientAddress?: string): Promise<ApiKeyIdentity | null> {
    let answer = this.perRequest.get(headers);
    if (!answer) {
      const token = bearerToken(headers);
      answer = token ? this.verify(token, clientAddress) : Promise.resolve(null);
      this.perRequest.set(headers, answer);
    }
    return answer;
  }

  async verify(key: string, clientAddress?: string): Promise<ApiKeyIdentity | null> {
    if (!key.startsWith(API_KEY_PREFIX) || key.length > 200) {
      // Not an API key: the admin token, or a guess at it (or a malformed key). A guess spends the
      // address's budget as an unknown key does; without this, the token that can do everything
      // was the one credential a client could try at the plain rate limit.
      if (clientAddress !== undefined && !this.isAdminToken?.(key)) this.spendBudget(clientAddress);
      return null;
    }
    const keyHash = hashApiKey(key);
    const now = this.now();
    const cached = this.valid.get(keyHash);
    if (cached && cached.expiresAt > now) return cached.identity;
    const unknownUntil = this.unknown.get(keyHash);
    if (unknownUntil !== undefined && unknownUntil > now) return null;

    const running = this.inFlight.get(keyHash);
    if (running) return running;
    // A key that held when last asked skips the address's budget: spent by made-up keys from a
    // shared address (every client behind one proxy), it must not lock out a tenant's valid key
    // once its cache entry runs out. The lookup still decides (a revoked key is refused).
    if (clientAddress !== undefined && !cached) this.spendBudget(clientAddress);
    const lookup = this.lookUp(keyHash).finally(() => this.inFlight.delete(keyHash));
    this.inFlight.set(keyHash, lookup);
    const identity = await lookup;
    if (identity && clientAddress !== undefined && !cached) this.budget.refund(clientAddress);
    return identity;
  }

  /** One lookup of the address's budget for credentials not known to be valid; past it, a 429. */
  private spendBudget(clientAddress: string): void {
    const waitSeconds = this.budget.take(clientAddress);
    if (waitSeconds === null) return;
    const refused = apiError('rate_limited', UNKNOWN_KEYS_MESSAGE);
    (refused.cause as ApiErrorCause).retryAfterSeconds = waitSeconds;
    throw refused;
  }

  private async lookUp(keyHash: string): Promise<ApiKeyIdentity | null> {
    const startedAfter = this.revocations;
    this.lookupsRunning += 1;
    let identity: ApiKeyIdentity | null;
    try {
      const [row] = await this.db
        .select({ apiKeyId: apiKeys.id, projectId: apiKeys.projectId })
        .from(apiKeys)
        .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)))
        .limit(1);
      await this.afterLookup?.(keyHash);
      identity = row ?? null;
      // Revoked here while the query ran: the row may predate the revocation.
      if (identity && (this.revokedAt.get(identity.apiKeyId) ?? 0) > startedAfter) identity = null;
    } finally {
      this.lookupsRunning -= 1;
      if (this.lookupsRunning === 0) this.revokedAt.clear();
    }
    const now = this.now();
    if (!identity) {
      if (this.unknownTtlMs > 0) this.unknown.set(keyHash, now + this.unknownTtlMs);
      return null;
    }
    this.touch(identity.apiKeyId);
    if (this.ttlMs > 0) this.valid.set(keyHash, { identity, expiresAt: now + this.ttlMs });
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

  /**
   * Forget every cached answer about one key, after it was revoked here; a
   * lookup of it already running will not bring it back.
   */
  forgetKey(apiKeyId: string): void {
    this.revocations += 1;
    if (this.lookupsRunning > 0) this.revokedAt.set(apiKeyId, this.revocations);
    this.valid.deleteWhere((entry) => entry.identity.apiKeyId === apiKeyId);
  }
}

export function bearerToken(headers: Headers): string | null {
  const value = headers.get('authorization');
  if (!value) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value);
  return match?.[1] ?? null;
}
