import { startConsumer } from './start';

/**
 * Environment:
 *   PORT                    default 4000
 *   HOST                    default 127.0.0.1
 *   HERALD_URL              the platform, default http://localhost:3000
 *   HERALD_API_KEY          a project API key (required)
 *   HERALD_WEBHOOK_SECRETS  the endpoint secret(s), comma-separated (required)
 *   DEMO_DATA_DIR           the consumer's own store, default .data/demo-consumer
 *   DEMO_CRASH_AFTER_ACK=1  test hook: acknowledge and store deliveries, never process them
 */
function required(name: string): string {
  const value = process.env[name]?.trim();
  if (!value) {
    console.error(`[demo-consumer] ${name} is required`);
    process.exit(1);
  }
  return value;
}

const secrets = required('HERALD_WEBHOOK_SECRETS')
  .split(',')
  .map((secret) => secret.trim())
  .filter(Boolean);

const port = Number(process.env.PORT || 4000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`[demo-consumer] PORT must be a port number, got "${process.env.PORT}"`);
  process.exit(1);
}

const consumer = await startConsumer({
  port,
  hostname: process.env.HOST || '127.0.0.1',
  platformUrl: process.env.HERALD_URL || 'http://localhost:3000',
  apiKey: required('HERALD_API_KEY'),
  secrets,
  ...(process.env.DEMO_DATA_DIR ? { dataDir: process.env.DEMO_DATA_DIR } : {}),
  holdJobs: process.env.DEMO_CRASH_AFTER_ACK === '1',
});
// Tests and the demo script wait for this line.
console.log(`[demo-consumer] listening on ${consumer.url}`);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`[demo-consumer] ${signal}: finishing the current job and closing`);
  await consumer.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
