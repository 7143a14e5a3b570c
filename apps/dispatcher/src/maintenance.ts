import { fileURLToPath } from 'node:url';
import { envDatabaseUrl, envString, processLogger, startOrExit } from '@herald/config';
import { createDb, dbTimeoutsFromEnv, secretBoxFromEnv } from '@herald/db';
import { dispatcherConfigFromEnv, runMaintenance } from '@herald/delivery';

// `pnpm --filter @herald/dispatcher maintenance`: creates the history partitions ahead and
// applies HERALD_RETENTION once, as every dispatcher does on HERALD_MAINTENANCE_INTERVAL.
// Without DATABASE_URL it opens the embedded PGlite directory (Herald must not be running on it).
const logger = processLogger('maintenance');
const { herald, config, secrets } = await startOrExit(logger, async () => {
  const config = dispatcherConfigFromEnv();
  const secrets = secretBoxFromEnv();
  const url = envDatabaseUrl(process.env);
  const herald = url
    ? await createDb({ url, ...dbTimeoutsFromEnv() })
    : await createDb({
        dataDir:
          envString(process.env, 'HERALD_DATA_DIR') ?? fileURLToPath(new URL('../../../.data/pglite', import.meta.url)),
      });
  return { herald, config, secrets };
});
try {
  const report = await runMaintenance(herald.db, {
    retentionMs: config.retentionMs,
    payloadRetentionMs: config.payloadRetentionMs,
    partitionsAheadDays: config.partitionsAheadDays,
    secrets,
    logger,
  });
  if (!report.ran) logger.info('another process holds the maintenance lock; nothing done');
  else logger.info(report, 'maintenance done');
} finally {
  await herald.close();
}
