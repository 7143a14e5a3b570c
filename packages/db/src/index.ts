export type { CreateDbOptions, Database, Driver, HeraldDb, Queryable, Schema, Transaction } from './client';
export {
  createDb,
  defaultDbTimeouts,
  driverOf,
  genericPlannerOf,
  listenToChannel,
  poolSizeOf,
  reconnectBackoff,
} from './client';
export { dbTimeoutsFromEnv, secretBoxFromEnv } from './config';
export {
  againOnConflict,
  isDatabaseUnavailable,
  isForeignKeyViolation,
  isTransactionConflict,
  isUniqueViolation,
} from './errors';
export type { TemplateValue } from './execute';
export { executeHotRows, executeHotTemplate, executeRows } from './execute';
export { markProjectWriter, markWritingNoEvents, PROJECT_MARK_SPACE } from './feed-marks';
export type { IdKind } from './ids';
export { ID_RANDOM_PART_SQL, idPattern, idPrefixes, idTimeBound, idTimestamp, newId, newIdAt } from './ids';
export { migratePgliteDatabase, migratePostgresDatabase, migrationsFolder } from './migrate';
export { DataDirInUseError, processIsAlive } from './pglite-lock';
export { databaseReady, READY_TIMEOUT_MS } from './readiness';
export * from './schema';
export type { SecretBox } from './sealed-secrets';
export { CLEAR_SECRET_BOX, SEALED_PREFIX, secretBox } from './sealed-secrets';
export { isStorableJson, isStorableText, toStorableText, UNSTORABLE_TEXT_MESSAGE } from './text';
