export type { Env } from './env';
export { EnvError, envDuration, envFlag, envInt, envString, formatDuration, parseDuration } from './env';
export { createLogger, redactedPaths, serializeError } from './logger';
