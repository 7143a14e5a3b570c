import { setTimeout as sleep } from 'node:timers/promises';
import type { Database, Transaction } from '@herald/db';
import {
  driverOf,
  executeRows,
  idempotencyKeys,
  isDatabaseUnavailable,
  markProjectWriter,
  poolSizeOf,
} from '@herald/db';
import type { ApiErrorCode, ApiServices } from '@herald/router';
import {
  bearerToken,
  ERASED_ANSWER_STATUS,
  httpStatusFor,
  matchesAdminToken,
  PORTAL_SESSION_COOKIE,
  RETRY_AFTER_UNAVAILABLE_SECONDS,
  SERVICE_UNAVAILABLE_MESSAGE,
} from '@herald/router';
import type { SQL } from 'drizzle-orm';
import { and, eq, lt, sql } from 'drizzle-orm';
import type { Context, Next } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { procedureTypeAt } from '../rest/procedures';
import { answersAsStream } from '../trpc/streaming';
import type { Protocol } from './idempotency/answers';
import { errorBody, protocolOf, storedAnswer } from './idempotency/answers';
import { fingerprinter, processSecretKey } from './idempotency/fingerprint';
import { TransactionTurns } from './idempotency/transaction-turns';
import { pathForLog } from './request-context';

/**
 * What a route runs an idempotent request on: the request's transaction (PostgreSQL), or the
 * database itself (PGlite); and services that tell the middleware what the answer must not keep.
 */
export interface IdempotentScope {
  db: Database;
  services: ApiServices;
  /**
   * PostgreSQL: runs the calls of a tRPC batch one at a time: they share the one transaction, and
   * calls run at once interleave their savepoints on its connection (postgres.js), so one call's
   * rollback undid another's writes, or failed on a savepoint already released. PGlite: unset,
   * there is no transaction to share, and the calls run as they would without the key.
   */
  serialCalls?: <T>(call: () => Promise<T>) => Promise<T>;
}

/** A queue that runs what it is given one at a time, in the order given. */
function serialQueue(): IdempotentScope['serialCalls'] {
  let tail: Promise<unknown> = Promise.resolve();
  return (call) => {
    const run = tail.then(call, call);
    tail = run.catch(() => undefined);
    return run;
  };
}

const scopes = new WeakMap<Request, IdempotentScope>();

/** The transaction (and services) a REST route or tRPC context must use for this request, when it carries an Idempotency-Key. */
export function idempotentScopeOf(request: Request): IdempotentScope | undefined {
  return scopes.get(request);
}

/**
 * Keys whose request is running in this process on embedded PGlite. Only
 * one process opens a PGlite directory, so an in-flight record whose key is
 * not here belongs to a request that died with its process.
 */
const runningHere = new Set<string>();

interface IdempotentRequest {
  projectId: string;
  key: string;
  protocol: Protocol;
  fingerprint: string;
  /** The record of this project and key. */
  record: SQL | undefined;
}

type IdempotencyRecord = typeof idempotencyKeys.$inferSelect;

/**
 * `Idempotency-Key` on POST, over REST (`/v1`) and tRPC (`/trpc`, whole
 * batches), per the IETF draft and Stripe's semantics: the same key and
 * request replay the stored answer, another request under the key answers
 * 422, and a request still running answers 409. Records live in the
 * database, so every API process sees them, for `idempotencyTtlSeconds`.
 * Requests are told apart by an HMAC under the server's secret key
 * (`config.secretKey`; see ./idempotency/fingerprint.ts), never a plain hash.
 *
 * On PostgreSQL the request runs in one transaction with the writing of its
 * answer, and the "in flight" mark is a transaction-scoped advisory lock: it
 * ends with the transaction, and so with its connection when the database
 * restarts or the backend is killed. A retry after that runs at once (the
 * change rolled back) or replays the answer (it committed, lost COMMIT
 * reply included); nothing waits for a lease to expire.
 */
export function idempotency(db: Database, services: ApiServices) {
  const fingerprints = fingerprinter(services.config.secretKey ?? processSecretKey);
  // Embedded PGlite is one connection: a transaction held for a whole request
  // would stall every other request meanwhile. It cannot restart under a
  // running process either, so there the answer is stored after the request.
  const transactional = driverOf(db) !== 'pglite';
  // Half the pool may hold a request's transaction; one project at most half of those.
  const turnCount = Math.max(1, Math.floor((poolSizeOf(db) ?? 10) / 2));
  const turns = new TransactionTurns({
    turns: turnCount,
    perProject: Math.max(1, Math.ceil(turnCount / 2)),
    maxWaiting: 256,
    waitMs: TURN_WAIT_MS,
  });

  const answerError = (c: Context, protocol: Protocol, code: ApiErrorCode, message: string) => {
    if (code === 'service_unavailable') c.header('retry-after', String(RETRY_AFTER_UNAVAILABLE_SECONDS));
    return c.json(errorBody(protocol, code, message), httpStatusFor[code] as ContentfulStatusCode);
  };
  const inFlight = (c: Context, request: IdempotentRequest) =>
    answerError(
      c,
      request.protocol,
      'idempotency_request_in_flight',
      'A request with this Idempotency-Key is in progress',
    );

  /** The answer to a request whose key already has a record. */
  const answerRecord = (c: Context, request: IdempotentRequest, existing: IdempotencyRecord) => {
    // A fingerprint made under another key (another process's, a rotated one) cannot be checked: the key decides.
    if (fingerprints.compare(existing.requestFingerprint, request.fingerprint) === 'different') {
      return answerError(
        c,
        request.protocol,
        'idempotency_key_reused',
        'This Idempotency-Key was used with a different request',
      );
    }
    if (existing.status === 'in_flight') return inFlight(c, request);
    c.header('Idempotent-Replayed', 'true');
    // Erasure removed the answer (it showed a user since deleted): the request ran, and is not run again.
    if (existing.responseBody === null) {
      return answerError(
        c,
        request.protocol,
        'conflict',
        'This request already ran; its answer showed a user since deleted, so it is no longer kept',
      );
    }
    return c.body(existing.responseBody ?? '', (existing.responseStatus ?? 200) as ContentfulStatusCode, {
      'content-type': 'application/json',
    });
  };

  const recordOf = async (on: Database | Transaction, request: IdempotentRequest) =>
    (await on.select().from(idempotencyKeys).where(request.record).limit(1))[0];

  const expiry = (now: Date) => new Date(now.getTime() + services.config.idempotencyTtlSeconds * 1000);

  /** PostgreSQL: the request, its in-flight lock and its stored answer in one transaction. */
  const runInTransaction = async (c: Context, next: Next, request: IdempotentRequest) => {
    // Wakeups wait for the commit: before it, dispatchers would find nothing. So does what a
    // procedure asks to run after its commit (forgetting a revoked API key).
    let wake = false;
    const committed: Array<() => void> = [];
    // The answer's earliest time (a failed login where legacy hashes remain), waited for after the
    // commit: held inside, the transaction kept its connection, its turn and its locks for it.
    let answerAt = 0;
    const erased = erasedMarks();
    const deferredServices: ApiServices = {
      ...services,
      inRequestTransaction: true,
      erasedFromAnswer: erased.add,
      wakeup: {
        notify: () => {
          wake = true;
        },
      },
      afterCommit: (fn) => {
        committed.push(fn);
      },
      holdAnswerUntil: (deadline) => {
        answerAt = Math.max(answerAt, deadline);
      },
    };
    let early: Response | undefined;
    if (!(await turns.take(request.projectId))) {
      services.logger?.warn(
        { path: pathForLog(c), projectId: request.projectId },
        'idempotent requests queued too long',
      );
      return answerError(
        c,
        request.protocol,
        'service_unavailable',
        'Too many requests with an Idempotency-Key are running; retry shortly',
      );
    }
    try {
      await db.transaction(async (tx) => {
        const lockName = `${request.projectId}\n${request.key}`;
        // First, before any write: the project's mark, so other projects' event feeds need not
        // wait for this transaction (it may wait on password hashing between its calls' writes).
        const [lock] = await executeRows<{ locked: boolean }>(
          tx,
          sql`select pg_try_advisory_xact_lock(hashtextextended(${lockName}, 0)) as locked,
                     ${markProjectWriter(request.projectId)} is null as marked`,
        );
        if (!lock?.locked) {
          early = inFlight(c, request);
          return;
        }
        const now = new Date();
        const existing = await recordOf(tx, request);
        if (existing?.status === 'completed' && existing.expiresAt > now) {
          early = answerRecord(c, request, existing);
          return;
        }
        // Expired, or in flight without its lock: that request is over and left no answer.
        if (existing) await tx.delete(idempotencyKeys).where(request.record);

        const scope = { db: tx as unknown as Database, services: deferredServices, serialCalls: serialQueue() };
        const answer = await answerToStore(c, next, request, scope, erased);
        if (!answer) return;
        await tx.insert(idempotencyKeys).values({
          projectId: request.projectId,
          key: request.key,
          requestFingerprint: request.fingerprint,
          status: 'completed',
          responseStatus: answer.status,
          responseBody: answer.body,
          createdAt: now,
          expiresAt: expiry(now),
        });
      });
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      // Committed or not, nobody can say until the database is back: the
      // client retries, and finds the answer (committed) or runs (not).
      services.logger?.warn({ err: error, path: pathForLog(c) }, 'database unavailable');
      c.res = answerError(c, request.protocol, 'service_unavailable', SERVICE_UNAVAILABLE_MESSAGE);
      return;
    } finally {
      turns.give(request.projectId);
    }
    if (early) return early;
    for (const fn of committed) fn();
    if (wake) services.wakeup.notify();
    const left = answerAt - performance.now();
    if (left > 0) await sleep(left);
  };

  /** Embedded PGlite: a committed in-flight claim, settled after the request. */
  const runWithClaim = async (c: Context, next: Next, request: IdempotentRequest) => {
    const running = `${request.projectId}\n${request.key}`;
    if (runningHere.has(running)) {
      const existing = await recordOf(db, request);
      return existing ? answerRecord(c, request, existing) : inFlight(c, request);
    }
    runningHere.add(running);
    try {
      const now = new Date();
      await db.delete(idempotencyKeys).where(and(request.record, lt(idempotencyKeys.expiresAt, now)));
      const claimed = await db
        .insert(idempotencyKeys)
        .values({
          projectId: request.projectId,
          key: request.key,
          requestFingerprint: request.fingerprint,
          status: 'in_flight',
          createdAt: now,
          expiresAt: expiry(now),
        })
        .onConflictDoNothing()
        .returning({ key: idempotencyKeys.key });
      if (claimed.length === 0) {
        const existing = await recordOf(db, request);
        if (!existing) return inFlight(c, request);
        // In flight, but not running here: its process died. The claim, the change and the answer
        // are three commits here (one connection: no transaction may span a request), so the
        // change may have committed without its answer. Running it again could make it twice;
        // its outcome is unknown, and the key says so until it expires.
        if (
          existing.status === 'in_flight' &&
          fingerprints.compare(existing.requestFingerprint, request.fingerprint) !== 'different'
        ) {
          return answerError(c, request.protocol, 'conflict', CUT_OFF_MESSAGE);
        }
        return answerRecord(c, request, existing);
      }

      const erased = erasedMarks();
      const answer = await answerToStore(
        c,
        next,
        request,
        { db, services: { ...services, erasedFromAnswer: erased.add } },
        erased,
      );
      if (answer) {
        await db
          .update(idempotencyKeys)
          .set({ status: 'completed', responseStatus: answer.status, responseBody: answer.body })
          .where(request.record);
      } else {
        await db.delete(idempotencyKeys).where(request.record);
      }
    } finally {
      runningHere.delete(running);
    }
  };

  return createMiddleware(async (c, next) => {
    const key = c.req.header('idempotency-key');
    if (c.req.method !== 'POST' || key === undefined) return next();
    // A listen stream's attempt report is keyed already (its stream's session and the delivery it
    // holds: a second report answers 409), and its route queries the pool, not a transaction.
    if (LISTEN_REPORT_PATH.test(c.req.path)) return next();
    const protocol = protocolOf(c.req.path, (name) => c.req.query(name));
    // A tRPC path that names no procedure (a typo: `/trpc/users.craete`) runs nothing and answers
    // 404: its key stays free for the request the client meant, as after any answer refused before
    // running. (A REST path with no route is found after the request: `noRoute`.)
    if (protocol.kind === 'trpc' && !namesAProcedure(protocol)) return next();
    if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
      return answerError(c, protocol, 'validation_error', 'Idempotency-Key must be 1–255 visible ASCII characters');
    }
    if (protocol.kind === 'trpc' && answersAsStream((name) => c.req.header(name))) {
      // A streamed batch answers call by call as they finish: there is no one answer to store and replay.
      return answerError(
        c,
        protocol,
        'validation_error',
        'Idempotency-Key needs a whole answer: send it with a non-streaming link (httpBatchLink), not httpBatchStreamLink',
      );
    }
    const identity = await services.apiKeys.identify(c.req.raw.headers);
    if (!identity) {
      // Records belong to an API key's project, and the admin token's requests have none (`POST
      // /v1/projects` makes one): refused, where ignoring the key would create a second project on a
      // retry. So are the portal's (a browser session): ignored, its key let a retried rotation
      // rotate twice.
      const headers = c.req.raw.headers;
      if (
        matchesAdminToken(services.config.adminToken, bearerToken(headers)) ||
        (!headers.has('authorization') && headers.get('cookie')?.includes(`${PORTAL_SESSION_COOKIE}=`))
      ) {
        return answerError(
          c,
          protocol,
          'validation_error',
          'Idempotency-Key is honoured on requests made with an API key; admin-token and portal-session requests take none',
        );
      }
      return next(); // the procedure answers 401
    }

    const url = new URL(c.req.url);
    // As `readBodyWithin` read it (an earlier middleware): the handler reads the same text afterwards.
    const body = await c.req.text();
    const request: IdempotentRequest = {
      projectId: identity.projectId,
      key,
      protocol,
      fingerprint: fingerprints.of(c.req.method, url.pathname + url.search, body),
      record: and(eq(idempotencyKeys.projectId, identity.projectId), eq(idempotencyKeys.key, key)),
    };
    return transactional ? runInTransaction(c, next, request) : runWithClaim(c, next, request);
  });
}

/**
 * Runs the request in `scope` (its routes and tRPC context read it from `scopes`) and returns its
 * answer as it is to be stored, or null.
 */
async function answerToStore(
  c: Context,
  next: Next,
  request: IdempotentRequest,
  scope: IdempotentScope,
  erased: ReturnType<typeof erasedMarks>,
) {
  scopes.set(c.req.raw, scope);
  try {
    await next();
  } finally {
    scopes.delete(c.req.raw);
  }
  // No route: nothing ran (`app.notFound`).
  if (c.get('noRoute')) return null;
  return erased.withheld(storedAnswer(request.protocol, c.res.status, await c.res.clone().text()));
}

/**
 * The users a request erased (`ApiServices.erasedFromAnswer`), and its answer as stored: without
 * its body when it shows any of them (a retry answers 409), as erasure leaves the answers stored
 * before it. A keyed tRPC batch that updates a user, then deletes them, answered with their data.
 */
function erasedMarks() {
  const marks: string[] = [];
  return {
    add: (more: string[]) => {
      marks.push(...more);
    },
    withheld(answer: { status: number; body: string } | null): { status: number; body: string | null } | null {
      if (!answer || !marks.some((mark) => answer.body.includes(mark))) return answer;
      return { status: ERASED_ANSWER_STATUS, body: null };
    },
  };
}

/** `POST /v1/endpoints/{id}/listen/attempts` (`herald listen`'s reports). */
const LISTEN_REPORT_PATH = /^\/v1\/endpoints\/[^/]+\/listen\/attempts\/?$/;

/** Embedded PGlite: the answer to a retry of a request cut off by a crash of the process. */
const CUT_OFF_MESSAGE =
  'The request with this Idempotency-Key was cut off by a restart of the server before its answer was stored: ' +
  'it may have taken effect. Check, then retry with a new Idempotency-Key';

/** How long an idempotent request waits for a turn to hold a transaction before it answers 503. */
const TURN_WAIT_MS = 5_000;

/** `idempotentScopeOf`, reachable from where only the middleware is imported (the tRPC context in app.ts). */
idempotency.scopeOf = idempotentScopeOf;

/**
 * Whether a tRPC call or batch may run a procedure. tRPC trims slashes around the path
 * (`/trpc/users.create/` runs `users.create`) and no procedure's name holds one: a name that
 * matches with every slash left out might run, and keeps its key.
 */
function namesAProcedure(protocol: Extract<Protocol, { kind: 'trpc' }>): boolean {
  return protocol.procedures.some((procedure) => procedureTypeAt(procedure.replaceAll('/', '')) !== undefined);
}
