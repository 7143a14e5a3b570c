export type { CreateDbOptions, Database, Driver, HeraldDb, Queryable, Schema, Transaction } from './client';
export { createDb } from './client';
export { isUniqueViolation } from './errors';
export { isStorableJson, isStorableText, toStorableText, UNSTORABLE_TEXT_MESSAGE } from './text';
export { executeRows } from './execute';
export type { IdKind } from './ids';
export { idPattern, idPrefixes, idTimestamp, newId } from './ids';
export { migratePgliteDatabase, migratePostgresDatabase, migrationsFolder } from './migrate';
export * from './schema';
