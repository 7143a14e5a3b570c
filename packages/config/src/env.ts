/**
 * The one environment parser of every Herald process. Each reader throws an
 * `EnvError` naming the variable, so a bad setting stops start-up with a
 * clear message instead of surfacing later as a database or runtime error.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export class EnvError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'EnvError';
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `5s`, `5m`, `2h`, `1d`. */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!match) throw new Error(`not a duration: "${text}" (use e.g. 500ms, 5s, 5m, 2h, 1d)`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2]!]!);
}

function raw(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** A whole number ≥ `min` (default 1). */
export function envInt(env: Env, name: string, fallback: number, options: { min?: number; max?: number } = {}): number {
  const text = raw(env, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  const min = options.min ?? 1;
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new EnvError(name, `must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

/**
 * The longest delay Node's timers take: 2^31 − 1 ms, about 24.8 days. `setTimeout` and
 * `setInterval` run a longer one after 1 ms instead (with only a warning), so a request timeout
 * would fire at once and a polling loop would spin.
 */
export const MAX_TIMER_MS = 2_147_483_647;

export interface DurationOptions {
  /** Shortest allowed, in ms (default 0). */
  min?: number;
  /** Longest allowed, in ms (default, and at most unless `timer: false`: {@link MAX_TIMER_MS}). */
  max?: number;
  /**
   * `false` only for a duration that never reaches `setTimeout`/`setInterval` (one used in SQL or
   * date arithmetic alone, such as a retention): it may then exceed {@link MAX_TIMER_MS}.
   */
  timer?: boolean;
}

/**
 * A duration (`5s`, `2h`) in milliseconds, between `min` and `max` ms. Every duration is taken to
 * feed a timer, so none may exceed {@link MAX_TIMER_MS} unless the caller opts out (`timer: false`).
 */
export function envDuration(env: Env, name: string, fallback: number, options: DurationOptions = {}): number {
  const text = raw(env, name);
  if (text === undefined) return fallback;
  let value: number;
  try {
    value = parseDuration(text);
  } catch (error) {
    throw new EnvError(name, (error as Error).message);
  }
  const min = options.min ?? 0;
  const max =
    options.timer === false
      ? (options.max ?? Number.MAX_SAFE_INTEGER)
      : Math.min(options.max ?? MAX_TIMER_MS, MAX_TIMER_MS);
  if (value > MAX_TIMER_MS && max === MAX_TIMER_MS) {
    throw new EnvError(
      name,
      `must be at most ${MAX_TIMER_MS}ms (about 24.8 days, the longest delay Node.js timers take), got "${text}"`,
    );
  }
  if (value < min || value > max) {
    throw new EnvError(name, `must be between ${formatDuration(min)} and ${formatDuration(max)}, got "${text}"`);
  }
  return value;
}

/** On only when set to exactly `1`; a security switch must never turn on by accident ("true", "yes", "0"). */
export function envFlag(env: Env, name: string): boolean {
  return raw(env, name) === '1';
}

export function envString(env: Env, name: string): string | undefined {
  return raw(env, name);
}

/**
 * A switch spelled `on` or `off` (any case); unset or empty gives `fallback`. Anything else
 * (`false`, `0`, `no`) stops start-up rather than being read as either, so a switch meant to turn
 * something off cannot leave it on by a spelling.
 */
export function envOnOff(env: Env, name: string, fallback: boolean): boolean {
  const text = raw(env, name);
  if (text === undefined) return fallback;
  switch (text.toLowerCase()) {
    case 'on':
      return true;
    case 'off':
      return false;
    default:
      throw new EnvError(name, `must be "on" or "off", got "${text}"`);
  }
}

/**
 * A PostgreSQL connection URL (`postgres://user:password@host:5432/db`), checked the way
 * postgres.js parses it (several hosts, `host1:5432,host2:5432`, allowed), or undefined when
 * unset. The error never quotes the value, which holds the password: the driver's own would.
 */
/** The `sslmode` values of libpq that postgres.js understands. */
const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

export function envDatabaseUrl(env: Env, name = 'DATABASE_URL'): string | undefined {
  const text = raw(env, name);
  if (text === undefined) return undefined;
  let url: URL;
  try {
    // As postgres.js does (src/index.js parseUrl): only the first of several hosts goes to URL,
    // and the user and password are percent-decoded (a lone % threw a URIError from the driver).
    const hosts = decodeURIComponent(
      text
        .slice(text.indexOf('://') + 3)
        .split(/[?/]/)[0]!
        .replace(/^[^@]*@/, ''),
    );
    url = new URL(text.replace(hosts, hosts.split(',')[0]!));
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
  } catch {
    throw new EnvError(
      name,
      'is not a valid URL (expected postgres://user:password@host:5432/database; ' +
        'characters such as @ : / ? # % in the password must be percent-encoded)',
    );
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new EnvError(name, 'must be a postgres:// or postgresql:// URL');
  }
  // The driver takes any other word as "verify the certificate", and a typo would then fail as a
  // TLS error far from its cause.
  // Every one given (the driver keeps the last); an empty one it ignores.
  for (const sslmode of url.searchParams.getAll('sslmode')) {
    if (sslmode !== '' && !SSL_MODES.includes(sslmode)) {
      throw new EnvError(name, `has sslmode=${JSON.stringify(sslmode)}: expected one of ${SSL_MODES.join(', ')}`);
    }
  }
  return text;
}

export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
