export { envDuration, EnvError, envFlag, envInt, envString, formatDuration, parseDuration } from './env';
export type { Env } from './env';
export { createLogger, redactedPaths, serializeError } from './logger';
