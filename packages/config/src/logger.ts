import type { LevelWithSilent, Logger } from 'pino';
import pino from 'pino';
import type { Env } from './env';
import { EnvError, envString } from './env';

/** Header and field names that may carry secrets; their values never reach a log line. */
export const redactedPaths = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'apiKey',
  'key',
  'password',
  'secret',
  '*.apiKey',
  '*.key',
  '*.password',
  '*.secret',
  '*.secrets',
];

/** Fields of driver errors that say what failed without quoting the data. */
const SAFE_ERROR_FIELDS = [
  'code',
  'severity',
  'routine',
  'constraint',
  'constraint_name',
  'table_name',
  'column_name',
  'query',
];

/**
 * Errors as log objects, keeping only what cannot hold a secret. A failed
 * Drizzle query puts every bound parameter in its message ("params: …", a
 * password hash among them) and PostgreSQL's `detail` may quote the whole
 * failing row; pino's standard serializer would log both.
 */
export function serializeError(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error)) {
    return error !== null && typeof error === 'object' ? { type: 'NonError' } : error;
  }
  const message = withoutParams(error.message);
  const out: Record<string, unknown> = {
    type: error.constructor?.name ?? 'Error',
    message,
    stack: error.stack?.replace(error.message, message),
  };
  for (const field of SAFE_ERROR_FIELDS) {
    const value = (error as unknown as Record<string, unknown>)[field];
    if (typeof value === 'string' || typeof value === 'number') out[field] = value;
  }
  if (error.cause !== undefined && depth < 5) out.cause = serializeError(error.cause, depth + 1);
  return out;
}

function withoutParams(message: string): string {
  const at = message.indexOf('\nparams: ');
  return at === -1 ? message : `${message.slice(0, at)}\nparams: [redacted]`;
}

/** The levels pino knows, most to least severe; `silent` logs nothing. */
export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * `HERALD_LOG_LEVEL`, any case; unset or empty: `info`. Another word stops start-up naming the
 * variable, instead of pino throwing from deep inside its constructor.
 */
export function logLevelFromEnv(env: Env = process.env, name = 'HERALD_LOG_LEVEL'): LevelWithSilent {
  const text = envString(env, name);
  if (text === undefined) return 'info';
  const level = LOG_LEVELS.find((l) => l === text.toLowerCase());
  if (level === undefined) throw new EnvError(name, `must be one of ${LOG_LEVELS.join(', ')}, got "${text}"`);
  return level;
}

/**
 * The logger of every Herald process (API, dispatcher, tools): one redaction
 * list and one error serializer, whichever process writes the line. Without
 * `level`, `HERALD_LOG_LEVEL` (see {@link logLevelFromEnv}: an unknown level
 * throws an `EnvError`).
 */
export function createLogger(
  options: { service?: string; level?: string; destination?: pino.DestinationStream } = {},
): Logger {
  const service = options.service ?? 'api';
  return pino(
    {
      name: `herald-${service}`,
      level: options.level ?? logLevelFromEnv(process.env),
      redact: { paths: redactedPaths, censor: '[redacted]' },
      serializers: { err: serializeError },
      base: { service },
    },
    options.destination,
  );
}
