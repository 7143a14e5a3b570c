import type { SQL } from 'drizzle-orm';
import type { Queryable } from './client';

/**
 * Raw SQL that returns rows the same way on both drivers: PGlite answers
 * `{ rows }`, postgres.js answers an array.
 */
export async function executeRows<Row extends Record<string, unknown>>(db: Queryable, query: SQL): Promise<Row[]> {
  const result = (await db.execute(query)) as unknown;
  if (Array.isArray(result)) return result as Row[];
  return ((result as { rows?: Row[] }).rows ?? []) as Row[];
}
