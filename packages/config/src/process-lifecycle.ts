import type { Logger } from 'pino';
import type { Env } from './env';
import { EnvError, envDuration } from './env';
import { createLogger, serializeError } from './logger';

/** How long a process may take to stop once asked (SIGTERM, SIGINT), `HERALD_SHUTDOWN_TIMEOUT`. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 25_000;

/** `HERALD_SHUTDOWN_TIMEOUT`: 1 s to 10 min (Kubernetes' default grace is 30 s: keep it under). */
export function shutdownTimeoutFromEnv(env: Env = process.env): number {
  return envDuration(env, 'HERALD_SHUTDOWN_TIMEOUT', DEFAULT_SHUTDOWN_TIMEOUT_MS, { min: 1_000, max: 600_000 });
}

type Exit = (code: number) => void;

/**
 * A process's logger; a logging setting it cannot use (`HERALD_LOG_LEVEL`) is one JSON line on
 * stderr, as `startOrExit` writes the others, then exit 1.
 */
export function processLogger(service: string, exit: Exit = process.exit): Logger {
  try {
    return createLogger({ service });
  } catch (error) {
    const variable = error instanceof EnvError ? error.variable : undefined;
    const msg = error instanceof EnvError ? error.message : 'start-up failed: the logger could not be made';
    process.stderr.write(`${JSON.stringify({ level: 60, time: Date.now(), service, variable, msg })}\n`);
    exit(1);
    throw error;
  }
}

/**
 * Runs a process's start-up: a configuration error (`EnvError`) or any other failure is one fatal
 * log line (the variable named; the error through the logger's serializer, which keeps no URL or
 * other input it carries), then exit 1, instead of an uncaught stack trace.
 */
export async function startOrExit<T>(logger: Logger, start: () => Promise<T>, exit: Exit = process.exit): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if (error instanceof EnvError) logger.fatal({ variable: error.variable }, error.message);
    else {
      const serialized = serializeError(error);
      logger.fatal({ error: withoutStacks(serialized) }, `start-up failed: ${messageOf(serialized)}`);
    }
    exit(1);
    // `exit` ends the process; a test's stand-in does not, so nothing runs after it either way.
    return new Promise<T>(() => {});
  }
}

/**
 * A start-up failure as its log line keeps it: type, message, code and causes, no stack. The
 * operator needs what failed (a database that refused, a host not found), not the driver's frames.
 */
function withoutStacks(serialized: unknown): unknown {
  if (serialized === null || typeof serialized !== 'object') return serialized;
  const { stack: _stack, cause, ...rest } = serialized as Record<string, unknown>;
  return cause === undefined ? rest : { ...rest, cause: withoutStacks(cause) };
}

/** The serialized failure's message, as the log line's own (`serializeError` keeps secrets out of it). */
function messageOf(serialized: unknown): string {
  const message = (serialized as { message?: unknown } | null)?.message;
  return typeof message === 'string' && message !== '' ? message : 'see error';
}

/**
 * Stops the process on SIGTERM or SIGINT: `close()` (requests and deliveries in flight finish,
 * leases are given back), then exit 0. Bounded: past `timeoutMs` (a client that never finishes
 * its request, a database that stopped answering) it logs and exits 1; a second signal exits 1 at
 * once (Ctrl-C twice). Returns a function that removes the handlers.
 */
export function exitOnSignals(
  logger: Logger,
  close: () => Promise<void>,
  options: { timeoutMs: number; exit?: Exit; signals?: readonly NodeJS.Signals[] },
): () => void {
  const exit = options.exit ?? process.exit;
  const signals = options.signals ?? (['SIGTERM', 'SIGINT'] as const);
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now, without finishing');
      exit(1);
      return;
    }
    stopping = true;
    logger.info({ signal, timeoutMs: options.timeoutMs }, 'shutting down: finishing in-flight requests and deliveries');
    const deadline = setTimeout(() => {
      logger.fatal(
        { timeoutMs: options.timeoutMs },
        'shutdown did not finish in time (HERALD_SHUTDOWN_TIMEOUT): exiting; unfinished deliveries are sent again once their leases end',
      );
      exit(1);
    }, options.timeoutMs);
    close().then(
      () => {
        clearTimeout(deadline);
        exit(0);
      },
      (error: unknown) => {
        clearTimeout(deadline);
        logger.error({ err: error }, 'shutdown failed');
        exit(1);
      },
    );
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
