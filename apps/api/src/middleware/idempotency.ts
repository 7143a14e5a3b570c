import { createHash } from 'node:crypto';
import type { Database, Transaction } from '@herald/db';
import { driverOf, idempotencyKeys, isDatabaseUnavailable } from '@herald/db';
import type { ApiErrorBody, ApiServices } from '@herald/router';
import { API_KEY_PREFIX, httpStatusFor, SERVICE_UNAVAILABLE_MESSAGE } from '@herald/router';
import type { SQL } from 'drizzle-orm';
import { and, eq, lt, or } from 'drizzle-orm';
import { createMiddleware } from 'hono/factory';
import { errorResponse } from '../rest/error-response';

/** An in-flight record older than this belongs to a request that died with its process. */
const ABANDONED_AFTER_MS = 5 * 60 * 1000;
/** Answers that say nothing ran are not stored: retrying them must run the request. */
const NOT_STORED = new Set([400, 401, 413, 415, 429]);

/** How often a claim the database could not remove is offered to it again. */
const SETTLE_RETRY_MS = 250;

/** What the REST route runs an idempotent request on: the request's transaction. */
export interface IdempotentScope {
  db: Database;
  services: ApiServices;
}

const scopes = new WeakMap<Request, IdempotentScope>();

/** The transaction (and services) a REST route must use for this request, when it carries an Idempotency-Key. */
export function idempotentScopeOf(request: Request): IdempotentScope | undefined {
  return scopes.get(request);
}

/**
 * `Idempotency-Key` on POST (IETF draft; Stripe's semantics): the same key
 * and body replay the stored response, a different body answers 422, and a
 * request still running answers 409. The record lives in the database, so
 * every API process sees it; it is kept `ttlSeconds`.
 *
 * The claim is committed first, so a concurrent duplicate sees it. The
 * request then runs in one transaction with the writing of its response:
 * the change and its stored answer commit together or not at all. When the
 * database goes away meanwhile (a restart), even a lost COMMIT reply leaves
 * a consistent state: committed, the record holds the answer and a retry
 * replays it; rolled back, the claim is removed (now, or by this process as
 * soon as the database is back; a retry reaching this process removes it
 * first), and a retry runs the request. Either way the client is told 503.
 */
export function idempotency(db: Database, services: ApiServices) {
  const unsettled = new Map<string, Claim>();
  // Embedded PGlite is one connection: a transaction held for a whole request
  // would stall every other request meanwhile. It cannot restart under a
  // running process either, so there the answer is stored after the request.
  const transactional = driverOf(db) !== 'pglite';

  /** Removes this request's own claim if it is still in flight (a committed answer stays). */
  const release = (claim: Claim, on: Database | Transaction = db) =>
    on
      .delete(idempotencyKeys)
      .where(and(claim.scope, eq(idempotencyKeys.createdAt, claim.createdAt), eq(idempotencyKeys.status, 'in_flight')));

  /** Stores the answer, or removes the claim when the answer is not to be replayed. */
  const settle = async (claim: Claim, response: Response, on: Database | Transaction = db) => {
    const status = response.status;
    if (status >= 500 || NOT_STORED.has(status)) {
      await release(claim, on);
      return;
    }
    const stored = storableResponse(status, await response.clone().text());
    await on
      .update(idempotencyKeys)
      .set({ status: 'completed', responseStatus: stored.status, responseBody: stored.body })
      .where(and(claim.scope, eq(idempotencyKeys.createdAt, claim.createdAt)));
  };

  /** Offers the removal again until the database takes it, an answer says it never will, or the claim is abandoned. */
  const releaseLater = (claim: Claim) => {
    unsettled.set(claim.id, claim);
    const retry = () => {
      if (unsettled.get(claim.id) !== claim) return; // a retry of the key released it
      const forget = () => {
        if (unsettled.get(claim.id) === claim) unsettled.delete(claim.id);
      };
      release(claim).then(forget, (error: unknown) => {
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

    // An earlier request of this key, on this process, was cut off while the database was away.
    const stale = unsettled.get(id);
    if (stale) {
      await release(stale);
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
      if (isDatabaseUnavailable(error)) releaseLater(claim);
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

    if (!transactional) {
      try {
        await next();
      } finally {
        await settle(claim, c.res);
      }
      return;
    }

    // Wakeups wait for the commit: before it, dispatchers would find nothing.
    let wake = false;
    const deferredServices: ApiServices = {
      ...services,
      wakeup: {
        notify: () => {
          wake = true;
        },
      },
    };
    try {
      await db.transaction(async (tx) => {
        scopes.set(c.req.raw, { db: tx as unknown as Database, services: deferredServices });
        try {
          await next();
        } finally {
          scopes.delete(c.req.raw);
        }
        await settle(claim, c.res, tx);
      });
    } catch (error) {
      if (!isDatabaseUnavailable(error)) {
        // Rolled back: nothing of the request stays, nor its claim.
        await release(claim).catch(() => releaseLater(claim));
        throw error;
      }
      // Committed or not, nobody can say until the database is back: the
      // client retries; the record tells the retry which it was.
      releaseLater(claim);
      services.logger?.warn({ err: error, path: c.req.path }, 'database unavailable');
      c.res = errorResponse(c, 'service_unavailable', SERVICE_UNAVAILABLE_MESSAGE);
      return;
    }
    if (wake) services.wakeup.notify();
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
