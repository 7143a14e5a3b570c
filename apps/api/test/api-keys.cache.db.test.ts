import { randomBytes } from 'node:crypto';
import { describeDb } from '@herald/db/testing';
import type { ApiKeyVerifierOptions } from '@herald/router';
import { ApiKeyVerifier, createApiServices, createCaller, createContext, hashApiKey } from '@herald/router';
import { TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { createTenant } from './harness';

/**
 * The API-key verifier on a real database: how often it asks the database
 * (counted through its `afterLookup` seam), what it keeps, and revocations
 * racing lookups. Over HTTP, see auth.security.db.test.ts.
 */

const bearer = (key: string) => new Headers({ authorization: `Bearer ${key}` });
const madeUpKey = () => `sk_${randomBytes(32).toString('base64url')}`;

/** A verifier whose database lookups are counted per key hash. */
function countingVerifier(
  db: Parameters<typeof createApiServices>[0],
  ttlMs: number,
  options: ApiKeyVerifierOptions = {},
) {
  const lookups = new Map<string, number>();
  const verifier = new ApiKeyVerifier(db, ttlMs, {
    ...options,
    afterLookup: async (keyHash) => {
      lookups.set(keyHash, (lookups.get(keyHash) ?? 0) + 1);
      await options.afterLookup?.(keyHash);
    },
  });
  const total = () => [...lookups.values()].reduce((a, b) => a + b, 0);
  const of = (key: string) => lookups.get(hashApiKey(key)) ?? 0;
  return { verifier, total, of };
}

describeDb('API-key verifier: caching and revocation', (t) => {
  describe('unknown keys', () => {
    it('an unknown key is looked up once, then answered from the negative cache, even with the valid-key cache off', async () => {
      const { verifier, total } = countingVerifier(t.db, 0);
      const key = madeUpKey();
      for (let i = 0; i < 20; i++) expect(await verifier.identify(bearer(key))).toBeNull();
      expect(total()).toBe(1);
    });

    it('concurrent requests with one unknown key share one lookup', async () => {
      const { verifier, total } = countingVerifier(t.db, 2000);
      const key = madeUpKey();
      const answers = await Promise.all(Array.from({ length: 20 }, () => verifier.identify(bearer(key))));
      expect(answers).toEqual(Array(20).fill(null));
      expect(total()).toBe(1);
    });

    it('a flood of made-up keys from one address asks the database at most its budget, then 429 with Retry-After', async () => {
      const budget = { lookups: 5, windowSeconds: 10 };
      const { verifier, total } = countingVerifier(t.db, 2000, { unknownKeyBudget: budget });
      const tenant = await createTenant(t.db);
      // A key known to be valid keeps working from that address.
      expect(await verifier.identify(bearer(tenant.apiKey), '203.0.113.7')).not.toBeNull();

      const refusals: unknown[] = [];
      for (let i = 0; i < 30; i++) {
        await verifier.identify(bearer(madeUpKey()), '203.0.113.7').catch((error: unknown) => refusals.push(error));
      }
      expect(total()).toBe(1 + budget.lookups);
      expect(refusals).toHaveLength(30 - budget.lookups);
      const refusal = refusals[0] as TRPCError;
      expect(refusal).toBeInstanceOf(TRPCError);
      expect(refusal.code).toBe('TOO_MANY_REQUESTS');
      expect((refusal.cause as { retryAfterSeconds?: number }).retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect((refusal.cause as { retryAfterSeconds?: number }).retryAfterSeconds).toBeLessThanOrEqual(10);

      expect(await verifier.identify(bearer(tenant.apiKey), '203.0.113.7')).not.toBeNull();
      // Another address, and another host's IPv6 /64, have budgets of their own…
      expect(await verifier.identify(bearer(madeUpKey()), '203.0.113.8')).toBeNull();
      // …but one IPv6 /64 is one budget: rotating the interface id buys nothing.
      for (let i = 0; i < budget.lookups; i++) await verifier.identify(bearer(madeUpKey()), `2001:db8:1:2::${i + 1}`);
      await expect(verifier.identify(bearer(madeUpKey()), '2001:db8:1:2:ffff::9')).rejects.toThrow(TRPCError);
      expect(await verifier.identify(bearer(madeUpKey()), '2001:db8:1:3::1')).toBeNull();
    });

    it('valid lookups do not use the budget: a busy address with valid keys is never refused', async () => {
      const budget = { lookups: 2, windowSeconds: 10 };
      // No valid-key cache: every request asks the database.
      const { verifier, total } = countingVerifier(t.db, 0, { unknownKeyBudget: budget });
      const tenant = await createTenant(t.db);
      for (let i = 0; i < 10; i++) expect(await verifier.identify(bearer(tenant.apiKey), '203.0.113.9')).not.toBeNull();
      expect(total()).toBe(10);
    });
  });

  it('a valid key whose cache entry ran out is looked up even when made-up keys spent its address budget', async () => {
    let clock = 1_000_000;
    const budget = { lookups: 2, windowSeconds: 10 };
    const { verifier, of } = countingVerifier(t.db, 2_000, { unknownKeyBudget: budget, now: () => clock });
    const tenant = await createTenant(t.db);
    const shared = '203.0.113.10'; // every client behind one proxy
    expect(await verifier.identify(bearer(tenant.apiKey), shared)).not.toBeNull();
    clock += 5_000; // past the cache's 2 s
    for (let i = 0; i < budget.lookups; i++) await verifier.identify(bearer(madeUpKey()), shared);
    await expect(verifier.identify(bearer(madeUpKey()), shared)).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    expect(await verifier.identify(bearer(tenant.apiKey), shared)).toMatchObject({ projectId: tenant.projectId });
    expect(of(tenant.apiKey)).toBe(2);
  });

  describe('bounded cache', () => {
    it('keeps a hot key while cold keys churn through a full cache (least recently used goes first)', async () => {
      const { verifier, of } = countingVerifier(t.db, 60_000, { maxEntries: 4, maxUnknownEntries: 4 });
      const tenant = await createTenant(t.db);
      const cold = [];
      for (let i = 0; i < 12; i++) cold.push((await tenant.caller.apiKeys.create({ name: `cold ${i}` })).key);

      expect(await verifier.identify(bearer(tenant.apiKey))).not.toBeNull();
      for (const key of cold) {
        expect(await verifier.identify(bearer(key))).not.toBeNull();
        expect(await verifier.identify(bearer(tenant.apiKey))).not.toBeNull();
      }
      // A flood of made-up keys fills its own cache, not the valid keys'.
      for (let i = 0; i < 20; i++) await verifier.identify(bearer(madeUpKey()));
      expect(await verifier.identify(bearer(tenant.apiKey))).not.toBeNull();
      expect(of(tenant.apiKey)).toBe(1);

      // The cold keys were evicted: the oldest is looked up again.
      expect(await verifier.identify(bearer(cold[0]!))).not.toBeNull();
      expect(of(cold[0]!)).toBe(2);
    });
  });

  describe('revocation', () => {
    it('a lookup that read the key before a revocation and finishes after it neither answers nor caches it', async () => {
      const tenant = await createTenant(t.db);
      const doomed = await tenant.caller.apiKeys.create({ name: 'doomed' });

      // Holds the doomed key's lookup after its query returned the still-valid row.
      let queried!: () => void;
      const hasQueried = new Promise<void>((resolve) => {
        queried = resolve;
      });
      let release!: () => void;
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      let hold = true;
      const { verifier, of } = countingVerifier(t.db, 60_000, {
        afterLookup: async (keyHash) => {
          if (keyHash !== hashApiKey(doomed.key) || !hold) return;
          hold = false;
          queried();
          await released;
        },
      });
      // The same services the API would use, so the revoke procedure tells this verifier.
      const services = { ...createApiServices(t.db), apiKeys: verifier };
      const owner = createCaller(createContext({ headers: bearer(tenant.apiKey), db: t.db, services }));

      const racing = verifier.identify(bearer(doomed.key));
      await hasQueried;
      await owner.apiKeys.revoke({ id: doomed.id });
      release();

      expect(await racing).toBeNull();
      expect(await verifier.identify(bearer(doomed.key))).toBeNull();
      const asDoomed = createCaller(createContext({ headers: bearer(doomed.key), db: t.db, services }));
      await expect(asDoomed.users.list()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
      // Refused from the negative cache, not re-read as valid.
      expect(of(doomed.key)).toBe(1);
    });

    it('another process, with its own cache, refuses a revoked key once its cache TTL has passed', async () => {
      const tenant = await createTenant(t.db);
      const doomed = await tenant.caller.apiKeys.create({ name: 'doomed elsewhere' });
      let now = Date.now();
      const elsewhere = new ApiKeyVerifier(t.db, 2000, { now: () => now });
      expect(await elsewhere.identify(bearer(doomed.key))).not.toBeNull();

      await tenant.caller.apiKeys.revoke({ id: doomed.id });
      // Within its TTL the other process still trusts its cached answer…
      now += 1999;
      expect(await elsewhere.identify(bearer(doomed.key))).not.toBeNull();
      // …and asks the database again after it.
      now += 2;
      expect(await elsewhere.identify(bearer(doomed.key))).toBeNull();
    });
  });
});
