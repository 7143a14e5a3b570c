import pino from 'pino';
import type { Logger } from 'pino';

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

export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      name: 'herald-api',
      level: options.level ?? process.env.HERALD_LOG_LEVEL ?? 'info',
      redact: { paths: redactedPaths, censor: '[redacted]' },
      base: { service: 'api' },
    },
    options.destination,
  );
}
