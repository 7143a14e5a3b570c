import type { Queryable } from '@herald/db';
import { endpoints } from '@herald/db';
import { and, eq } from 'drizzle-orm';
import { notFound } from '../../errors';

/**
 * The endpoint if it belongs to the project; 404 otherwise, whoever owns it.
 * `forUpdate` (inside a transaction) row-locks it until commit, which serialises
 * read-modify-write changes of the same endpoint.
 */
export async function findEndpoint(
  db: Queryable,
  projectId: string,
  id: string,
  options: { forUpdate?: boolean } = {},
) {
  const query = db
    .select()
    .from(endpoints)
    .where(and(eq(endpoints.projectId, projectId), eq(endpoints.id, id)))
    .limit(1);
  const [row] = options.forUpdate ? await query.for('update') : await query;
  if (!row) throw notFound('Endpoint');
  return row;
}
