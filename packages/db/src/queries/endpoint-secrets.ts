import { and, asc, gt, inArray, isNull, or } from 'drizzle-orm';
import type { Queryable } from '../client';
import { endpointSecrets } from '../schema/webhooks';

/**
 * Secrets that sign deliveries now, per endpoint, newest first: the current
 * one and any rotated-out one still in its grace period.
 */
export async function activeSecretsByEndpoint(
  db: Queryable,
  endpointIds: readonly string[],
  now = new Date(),
): Promise<Map<string, string[]>> {
  const bySecret = new Map<string, string[]>();
  if (endpointIds.length === 0) return bySecret;
  const rows = await db
    .select({ endpointId: endpointSecrets.endpointId, secret: endpointSecrets.secret })
    .from(endpointSecrets)
    .where(
      and(
        inArray(endpointSecrets.endpointId, [...endpointIds]),
        or(isNull(endpointSecrets.expiresAt), gt(endpointSecrets.expiresAt, now)),
      ),
    )
    .orderBy(asc(endpointSecrets.endpointId), asc(endpointSecrets.id));
  for (const row of rows) {
    const list = bySecret.get(row.endpointId) ?? [];
    list.unshift(row.secret);
    bySecret.set(row.endpointId, list);
  }
  return bySecret;
}
