export * from './schema';
export { createDb } from './client';
export type { CreateDbOptions, Database, Driver, HeraldDb, Queryable, Schema, Transaction } from './client';
export { executeRows } from './execute';
export { idPattern, idPrefixes, idTimestamp, newId } from './ids';
export type { IdKind } from './ids';
export { migratePgliteDatabase, migratePostgresDatabase, migrationsFolder } from './migrate';
export { isUniqueViolation } from './errors';
