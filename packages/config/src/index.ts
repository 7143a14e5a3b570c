export type { DurationOptions, Env } from './env';
export {
  EnvError,
  envDatabaseUrl,
  envDuration,
  envFlag,
  envInt,
  envOnOff,
  envString,
  formatDuration,
  MAX_TIMER_MS,
  parseDuration,
} from './env';
export { createLogger, LOG_LEVELS, logLevelFromEnv, redactedPaths, serializeError } from './logger';
export {
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  exitOnSignals,
  processLogger,
  shutdownTimeoutFromEnv,
  startOrExit,
} from './process-lifecycle';
export {
  loadOrCreateSecretKey,
  PREVIOUS_SECRET_KEYS_VARIABLE,
  previousSecretKeysFromEnv,
  SECRET_KEY_MIN_LENGTH,
  SECRET_KEY_VARIABLE,
  secretKeyFromEnv,
} from './secret-key';
