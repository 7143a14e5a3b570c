import { createDb, createDeliveryWakeup } from '@herald/db';
import { createApp } from './app';
import { apiConfigFromEnv } from './config';
import { createLogger } from './logger';
import { listen } from './server';

const logger = createLogger();
const port = Number(process.env.PORT ?? 3000);
const herald = await createDb(process.env.DATABASE_URL ? { url: process.env.DATABASE_URL } : {});
const wakeup = createDeliveryWakeup(herald);
const app = createApp({ db: herald.db, config: apiConfigFromEnv(), wakeup, logger });
const server = await listen(app, { port, hostname: process.env.HOST ?? '0.0.0.0' });
logger.info({ url: server.url, driver: herald.driver }, 'Herald API listening');

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down: finishing in-flight requests');
  await server.close();
  await wakeup.close();
  await herald.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
