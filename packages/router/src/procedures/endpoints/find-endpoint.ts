import type { Queryable } from '@herald/db';
import { endpoints } from '@herald/db';
import { and, eq } from 'drizzle-orm';
import { notFound } from '../../errors';

/** The endpoint if it belongs to the project; 404 otherwise, whoever owns it. */
export async function findEndpoint(db: Queryable, projectId: string, id: string) {
  const [row] = await db
    .select()
    .from(endpoints)
    .where(and(eq(endpoints.projectId, projectId), eq(endpoints.id, id)))
    .limit(1);
  if (!row) throw notFound('Endpoint');
  return row;
}
