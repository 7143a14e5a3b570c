import { createHash } from 'node:crypto';
import type { Database } from '@herald/db';
import { idempotencyKeys, isDatabaseUnavailable } from '@herald/db';
import type { ApiErrorBody, ApiServices } from '@herald/router';
import { API_KEY_PREFIX, httpStatusFor } from '@herald/router';
import type { SQL } from 'drizzle-orm';
import { and, eq, lt, or } from 'drizzle-orm';
import { createMiddleware } from 'hono/factory';
import { errorResponse } from '../rest/error-response';

/** An in-flight record older than this belongs to a request that died with its process. */
const ABANDONED_AFTER_MS = 5 * 60 * 1000;
/** Answers that say nothing ran are not stored: retrying them must run the request. */
const NOT_STORED = new Set([400, 401, 413, 415, 429]);

/** How often a record the database could not take is offered to it again. */
const SETTLE_RETRY_MS = 250;

/** What becomes of a claimed record when its request ends: removed (nothing kept) or completed. */
type Settlement = { kind: 'delete' } | { kind: 'complete'; status: number; body: string };

/**
 * `Idempotency-Key` on POST (IETF draft; Stripe's semantics): the same key
 * and body replay the stored response, a different body answers 422, and a
 * request still running answers 409. The record lives in the database, so
 * every API process sees it; it is kept `ttlSeconds`.
 *
 * A request can end while the database is away (a restart): its record
 * cannot be removed or completed then. This process keeps offering that
 * write until the database takes it, and a retry of the same key reaching
 * this process makes the write first, so it runs the request (or replays
 * its answer) instead of meeting its own stale claim as a 409. A success
 * stays a success when only its record could not be written.
 */
export function idempotency(db: Database, services: ApiServices) {
  const unsettled = new Map<string, { claim: Claim; settlement: Settlement }>();

  const settle = async (claim: Claim, settlement: Settlement) => {
    // Only this request's own record: createdAt tells it from a later claim of the same key.
    const own = and(
      claim.scope,
      eq(idempotencyKeys.createdAt, claim.createdAt),
      eq(idempotencyKeys.status, 'in_flight'),
    );
    if (settlement.kind === 'delete') {
      await db.delete(idempotencyKeys).where(own);
    } else {
      await db
        .update(idempotencyKeys)
        .set({ status: 'completed', responseStatus: settlement.status, responseBody: settlement.body })
        .where(own);
    }
  };

  /** Offers the write again until the database takes it, an answer says it never will, or the record is abandoned. */
  const settleLater = (claim: Claim, settlement: Settlement) => {
    unsettled.set(claim.id, { claim, settlement });
    const retry = () => {
      if (unsettled.get(claim.id)?.claim !== claim) return; // a retry of the key settled it
      const forget = () => {
        if (unsettled.get(claim.id)?.claim === claim) unsettled.delete(claim.id);
      };
      settle(claim, settlement).then(forget, (error: unknown) => {
        if (isDatabaseUnavailable(error) && Date.now() - claim.createdAt.getTime() < ABANDONED_AFTER_MS) {
          setTimeout(retry, SETTLE_RETRY_MS).unref();
          return;
        }
        forget();
        services.logger?.error({ err: error, idempotencyKey: claim.key }, 'idempotency record left in flight');
      });
    };
    setTimeout(retry, SETTLE_RETRY_MS).unref();
  };

  /** Removes the claim, or completes it with the response; later if the database is away. */
  const finish = async (claim: Claim, response: Response) => {
    const status = response.status;
    const settlement: Settlement =
      status >= 500 || NOT_STORED.has(status)
        ? { kind: 'delete' }
        : { kind: 'complete', ...storableResponse(status, await response.clone().text()) };
    try {
      await settle(claim, settlement);
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      settleLater(claim, settlement);
    }
  };

  return createMiddleware(async (c, next) => {
    const key = c.req.header('idempotency-key');
    if (c.req.method !== 'POST' || key === undefined) return next();
    if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
      return errorResponse(c, 'validation_error', 'Idempotency-Key must be 1–255 visible ASCII characters');
    }
    const identity = await services.apiKeys.identify(c.req.raw.headers);
    if (!identity) return next(); // the procedure answers 401

    const body = await c.req.text();
    const fingerprint = createHash('sha256').update(`${c.req.method} ${c.req.path}\n${body}`).digest('hex');
    const scope = and(eq(idempotencyKeys.projectId, identity.projectId), eq(idempotencyKeys.key, key));
    const id = `${identity.projectId}\n${key}`;

    // An earlier request of this key, on this process, ended while the database was away.
    const stale = unsettled.get(id);
    if (stale) {
      await settle(stale.claim, stale.settlement);
      if (unsettled.get(id) === stale) unsettled.delete(id);
    }

    const now = new Date();
    // Expired and abandoned records no longer hold the key.
    await db
      .delete(idempotencyKeys)
      .where(
        and(
          scope,
          or(
            lt(idempotencyKeys.expiresAt, now),
            and(
              eq(idempotencyKeys.status, 'in_flight'),
              lt(idempotencyKeys.createdAt, new Date(now.getTime() - ABANDONED_AFTER_MS)),
            ),
          ),
        ),
      );
    const claim: Claim = { id, key, scope, createdAt: now };
    let claimed: { key: string }[];
    try {
      claimed = await db
        .insert(idempotencyKeys)
        .values({
          projectId: identity.projectId,
          key,
          requestFingerprint: fingerprint,
          status: 'in_flight',
          createdAt: now,
          expiresAt: new Date(now.getTime() + services.config.idempotencyTtlSeconds * 1000),
        })
        .onConflictDoNothing()
        .returning({ key: idempotencyKeys.key });
    } catch (error) {
      // The insert may have committed with its answer lost: remove what it may have left.
      if (isDatabaseUnavailable(error)) settleLater(claim, { kind: 'delete' });
      throw error;
    }

    if (claimed.length === 0) {
      const [existing] = await db.select().from(idempotencyKeys).where(scope).limit(1);
      if (!existing)
        return errorResponse(c, 'idempotency_request_in_flight', 'A request with this Idempotency-Key is in progress');
      if (existing.requestFingerprint !== fingerprint) {
        return errorResponse(c, 'idempotency_key_reused', 'This Idempotency-Key was used with a different request');
      }
      if (existing.status === 'in_flight') {
        return errorResponse(c, 'idempotency_request_in_flight', 'A request with this Idempotency-Key is in progress');
      }
      c.header('Idempotent-Replayed', 'true');
      return c.body(existing.responseBody ?? '', (existing.responseStatus ?? 200) as 200, {
        'content-type': 'application/json',
      });
    }

    try {
      await next();
    } finally {
      await finish(claim, c.res);
    }
  });
}

interface Claim {
  /** Project and key: what `unsettled` is keyed by. */
  id: string;
  key: string;
  scope: SQL | undefined;
  /** Tells this request's record from a later claim of the same key. */
  createdAt: Date;
}

/**
 * What a replay answers. A response carrying a new API key is not stored
 * as is: the key would sit in plain text in the database for the whole TTL,
 * and keys are stored only as hashes and shown once. Its replay is a 409
 * naming the key that was created instead.
 */
function storableResponse(status: number, body: string): { status: number; body: string } {
  const created = parseJsonObject(body);
  if (typeof created?.key !== 'string' || !created.key.startsWith(API_KEY_PREFIX)) return { status, body };
  const error: ApiErrorBody = {
    error: {
      code: 'conflict',
      message:
        'This Idempotency-Key already created an API key, whose secret is shown only once and is not replayed. ' +
        'Revoke that key and create a new one if the secret was lost.',
      details: { id: typeof created.id === 'string' ? created.id : null },
    },
  };
  return { status: httpStatusFor.conflict, body: JSON.stringify(error) };
}

function parseJsonObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
