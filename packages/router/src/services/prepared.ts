import type { Database, Queryable } from '@herald/db';
import { PgTransaction } from 'drizzle-orm/pg-core';

const statements = new WeakMap<object, Map<string, unknown>>();

/**
 * A query prepared once per database (`build` on it, with `sql.placeholder`s for the values and
 * `.prepare(name)` at the end, with the name it is given), for the API's hottest reads. Drizzle sends other queries as
 * unnamed statements, which postgres.js runs in two round trips (describe, then execute) and
 * PostgreSQL parses every time; a named one is parsed once per connection and runs in one.
 * Inside a transaction, built afresh each call: the cache would outlive the transaction.
 */
export function preparedOn<T>(db: Queryable, name: string, build: (db: Database, name: string) => T): T {
  if (db instanceof PgTransaction) return build(db as unknown as Database, name);
  let byName = statements.get(db);
  if (!byName) {
    byName = new Map();
    statements.set(db, byName);
  }
  if (!byName.has(name)) byName.set(name, build(db as Database, name));
  return byName.get(name) as T;
}
