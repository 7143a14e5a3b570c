import { randomBytes, timingSafeEqual } from 'node:crypto';
import { passwordHashingFromEnv } from '../config';
import type { ApiErrorCause } from '../errors';
import { apiError } from '../errors';
import { recordLegacyCheckMs } from './legacy-password-floor';
import type { PasswordPoolOptions, PasswordTurn } from './password-pool';
import { argon2Options, PasswordPool, PasswordQueueFullError } from './password-pool';

export { PasswordQueueFullError } from './password-pool';

/** OWASP's Argon2id parameters (m=19 MiB, t=2, p=1), with a 16-byte salt and a 32-byte hash. */
export const passwordHashParams = {
  algorithm: 'argon2id',
  memoryCost: argon2Options.memoryCost,
  timeCost: argon2Options.timeCost,
  parallelism: argon2Options.parallelism,
  keyLength: argon2Options.outputLen,
  saltLength: 16,
} as const;

/** The scrypt parameters hashes were made with before argon2id (N=2^17, r=8, p=1); still verified. */
export const legacyScryptParams = { N: 2 ** 17, r: 8, p: 1, keyLength: 32, saltLength: 16 } as const;

export { DEFAULT_PASSWORD_QUEUE, DEFAULT_PASSWORD_THREADS } from '../config';
/** Seconds a client should wait after a 503 for a full hashing queue. */
export const PASSWORD_QUEUE_RETRY_AFTER_SECONDS = 1;

let pool: PasswordPool | null = null;

/**
 * Without `configurePasswordHashing`, the pool takes `HERALD_PASSWORD_THREADS` / `HERALD_PASSWORD_QUEUE`
 * on the first hash, read by the same function as `apiConfigFromEnv` (which the API calls at
 * start, so a bad value has stopped start-up before any login).
 */
function sharedPool(): PasswordPool {
  pool ??= new PasswordPool(passwordHashingFromEnv(process.env));
  return pool;
}

/**
 * Replaces the process's hashing pool (at start with `ApiConfig.passwordHashing`, in tests, or an
 * app with its own settings); the old one is closed. Unset options keep the current pool's, or the
 * environment's.
 */
export async function configurePasswordHashing(options: Partial<PasswordPoolOptions>): Promise<void> {
  const old = pool;
  pool = null;
  const current = old?.options ?? passwordHashingFromEnv(process.env);
  pool = new PasswordPool({ ...current, ...options });
  await old?.close();
}

/** Terminates the hashing threads (idle ones never hold the process open anyway). */
export async function closePasswordHashing(): Promise<void> {
  const old = pool;
  pool = null;
  await old?.close();
}

/** A full queue becomes the API's retryable 503. */
async function onPool<T>(work: (pool: PasswordPool) => Promise<T>): Promise<T> {
  try {
    return await work(sharedPool());
  } catch (error) {
    if (error instanceof PasswordQueueFullError) {
      const refused = apiError('service_unavailable', 'Too many password checks in progress; retry shortly');
      const cause = refused.cause as ApiErrorCause;
      cause.cause = error;
      cause.retryAfterSeconds = PASSWORD_QUEUE_RETRY_AFTER_SECONDS;
      throw refused;
    }
    throw error;
  }
}

/**
 * A procedure's turn on the hashing threads: its project's, and ahead of the project's other jobs
 * when the request runs in one transaction (`ApiServices.inRequestTransaction`). That transaction
 * may hold a transaction id already (an earlier call of its batch wrote), and while it waits every
 * project's event feed waits for it (`GET /v1/events` serves events below the oldest one running).
 */
export function passwordTurnOf(ctx: {
  projectId: string;
  services: { inRequestTransaction?: boolean | undefined };
}): PasswordTurn {
  return { owner: ctx.projectId, first: ctx.services.inRequestTransaction === true };
}

/**
 * PHC string: `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`. `owner` (the project) is whose
 * turn on the hashing threads it takes (see PasswordPool).
 */
export function hashPassword(password: string, owner?: string | PasswordTurn): Promise<string> {
  return onPool(async (p) => (await p.run({ op: 'hash', password: password.normalize('NFKC') }, owner)) as string);
}

export interface PasswordCheck {
  ok: boolean;
  /** True when the password is right but the stored hash is not argon2id with today's parameters. */
  needsRehash: boolean;
}

/** Checks a password against an argon2id hash, or a legacy `$scrypt$` one. */
export async function checkPassword(
  password: string,
  encoded: string,
  owner?: string | PasswordTurn,
): Promise<PasswordCheck> {
  const normalized = password.normalize('NFKC');
  if (encoded.startsWith('$argon2')) {
    const ok = (await onPool((p) => p.run({ op: 'verify', password: normalized, encoded }, owner))) as boolean;
    return { ok, needsRehash: ok && !encoded.startsWith(CURRENT_PREFIX) };
  }
  const legacy = parseLegacyScryptHash(encoded);
  if (!legacy) return { ok: false, needsRehash: false };
  const started = performance.now();
  const key = (await onPool((p) =>
    p.run(
      {
        op: 'scrypt',
        password: normalized,
        salt: legacy.salt,
        keyLength: legacy.hash.length,
        N: legacy.N,
        r: legacy.r,
        p: legacy.p,
      },
      owner,
    ),
  )) as Buffer;
  recordLegacyCheckMs(performance.now() - started);
  const ok = key.length === legacy.hash.length && timingSafeEqual(key, legacy.hash);
  return { ok, needsRehash: ok };
}

const CURRENT_PREFIX = `$argon2id$v=19$m=${argon2Options.memoryCost},t=${argon2Options.timeCost},p=${argon2Options.parallelism}$`;

export async function verifyPassword(
  password: string,
  encoded: string,
  owner?: string | PasswordTurn,
): Promise<boolean> {
  return (await checkPassword(password, encoded, owner)).ok;
}

/** Legacy PHC string: `$scrypt$ln=17,r=8,p=1$<salt>$<hash>` (base64, no padding). */
export function parseLegacyScryptHash(encoded: string) {
  const match = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(encoded);
  if (!match) return null;
  const [, ln, r, p, salt, hash] = match;
  if (Number(ln) > 20) return null;
  return {
    N: 2 ** Number(ln),
    r: Number(r),
    p: Number(p),
    salt: Buffer.from(salt!, 'base64'),
    hash: Buffer.from(hash!, 'base64'),
  };
}

/**
 * A legacy scrypt hash, as Herald made them before argon2id (on the hashing
 * threads too): for tests of the migration and the benchmark's before figure.
 */
export async function hashPasswordLegacyScrypt(password: string): Promise<string> {
  const { N, r, p, keyLength, saltLength } = legacyScryptParams;
  const salt = randomBytes(saltLength);
  const key = (await onPool((pool) =>
    pool.run({ op: 'scrypt', password: password.normalize('NFKC'), salt, keyLength, N, r, p }),
  )) as Buffer;
  return `$scrypt$ln=${Math.log2(N)},r=${r},p=${p}$${b64(salt)}$${b64(key)}`;
}

let dummyHash: Promise<string> | null = null;

/**
 * Spends the same work as a real check, so a login for an unknown user takes
 * as long as one with a wrong password and does not reveal who exists.
 */
export async function burnPasswordCheck(password: string, owner?: string | PasswordTurn): Promise<false> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex')).catch((error) => {
    dummyHash = null;
    throw error;
  });
  await verifyPassword(password, await dummyHash, owner);
  return false;
}

function b64(buf: Buffer) {
  return buf.toString('base64').replace(/=+$/, '');
}
