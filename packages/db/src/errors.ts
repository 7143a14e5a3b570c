/** True for PostgreSQL's unique_violation (23505), whichever driver raised it. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  for (let e: unknown = error; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const { code, constraint_name, constraint: pgliteConstraint } = e as Record<string, unknown>;
    if (code === '23505') {
      return !constraint || constraint_name === constraint || pgliteConstraint === constraint;
    }
  }
  return false;
}

/** The SQLSTATE of `error` or of an error in its `cause` chain, whichever driver raised it. */
function sqlStateOf(error: unknown): string | undefined {
  for (let e: unknown = error; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const { code } = e as { code?: unknown };
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** True for foreign_key_violation (23503): a row it points at was deleted meanwhile (a concurrent delete). */
export function isForeignKeyViolation(error: unknown): boolean {
  return sqlStateOf(error) === '23503';
}

/**
 * True for deadlock_detected (40P01) and serialization_failure (40001): the transaction lost a race
 * and was rolled back whole, so running it again is safe.
 */
export function isTransactionConflict(error: unknown): boolean {
  const state = sqlStateOf(error);
  return state === '40P01' || state === '40001';
}

/**
 * `run` (one statement, or one whole transaction) again when it lost a race
 * (`isTransactionConflict`: it was rolled back whole), up to `tries` times in all, after a short
 * random pause that grows with each try.
 */
export async function againOnConflict<T>(run: () => Promise<T>, tries = 4): Promise<T> {
  for (let tried = 1; ; tried++) {
    try {
      return await run();
    } catch (error) {
      if (!isTransactionConflict(error) || tried >= tries) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * tried));
    }
  }
}

/** postgres.js's own connection errors, and the socket errors of a database that is down or unreachable. */
const UNAVAILABLE_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** SQLSTATEs of a server that is shutting down, starting, out of connections or too slow to answer. */
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown: a fast restart ends every session
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: the server is starting up
  '53300', // too_many_connections
  '57014', // query_canceled: statement_timeout
]);

/**
 * SQLSTATEs that mean "unavailable" only when the server ended the session with them (severity
 * FATAL, as when a connection is refused at start-up); the same codes at ERROR are a statement's
 * fault (55000 is also "currval not yet defined", 3D000 a DROP DATABASE of a missing one).
 */
const UNAVAILABLE_WHEN_FATAL = new Set([
  '55000', // object_not_in_prerequisite_state: "database … is not currently accepting connections" (ALLOW_CONNECTIONS false)
  '3D000', // invalid_catalog_name: "database … does not exist" (dropped, or not created yet)
]);

/**
 * True when `error` (or any error in its `cause` chain, or in an
 * AggregateError) says the database is unreachable, restarting or not
 * answering in time, rather than that the request was wrong: the caller should
 * answer "try again shortly" (503), never 500. Meant for errors of database
 * calls; socket codes such as ECONNREFUSED say nothing about which server refused.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  const visit = (e: unknown): boolean => {
    if (!e || typeof e !== 'object' || seen.has(e)) return false;
    seen.add(e);
    const { code, cause, errors, severity } = e as {
      code?: unknown;
      cause?: unknown;
      errors?: unknown;
      severity?: unknown;
    };
    if (typeof code === 'string') {
      // Class 08: connection exception (08000, 08003, 08006, 08001, 08004, …).
      if (UNAVAILABLE_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
      if (severity === 'FATAL' && UNAVAILABLE_WHEN_FATAL.has(code)) return true;
    }
    if (Array.isArray(errors) && errors.some(visit)) return true;
    return visit(cause);
  };
  return visit(error);
}
