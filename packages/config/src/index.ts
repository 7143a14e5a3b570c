export type { Env } from './env';
export { EnvError, envDuration, envFlag, envInt, envString, formatDuration, parseDuration } from './env';
export { createLogger, redactedPaths, serializeError } from './logger';
export { loadOrCreateSecretKey, SECRET_KEY_MIN_LENGTH, SECRET_KEY_VARIABLE, secretKeyFromEnv } from './secret-key';
