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

/** A duration (`5s`, `2h`) in milliseconds, between `min` and `max` ms. */
export function envDuration(
  env: Env,
  name: string,
  fallback: number,
  options: { min?: number; max?: number } = {},
): number {
  const text = raw(env, name);
  if (text === undefined) return fallback;
  let value: number;
  try {
    value = parseDuration(text);
  } catch (error) {
    throw new EnvError(name, (error as Error).message);
  }
  const min = options.min ?? 0;
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
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
