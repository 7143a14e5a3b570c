import type { Database, SecretBox } from '@herald/db';
import { executeRows, SEALED_PREFIX } from '@herald/db';
import { sql } from 'drizzle-orm';

/** Secrets read per statement. */
export const SEAL_BATCH = 500;

export interface SealBatch {
  /** Resealed under the box's key (they were in clear, or sealed under a previous key). */
  sealed: number;
  /** Sealed under a key the box does not hold: left as they are (the dispatcher cannot sign with them). */
  unreadable: number;
  /** The last id read: the next batch starts after it (`null`: nothing was left to read). */
  lastId: string | null;
}

/**
 * Signing secrets not sealed under the box's current key (stored in clear before a key was set,
 * or under a key a rotation replaced), from after `afterId` in id order: sealed under it. Each row
 * is written only if it still holds what was read, so a secret rotated or deleted meanwhile is
 * left to its new state. The caller repeats it from `lastId` until a batch reads fewer than
 * `SEAL_BATCH` rows.
 */
export async function sealSecretsBatch(db: Database, box: SecretBox, afterId: string): Promise<SealBatch> {
  const current = `${SEALED_PREFIX}${box.keyId}:%`;
  const rows = await executeRows<{ id: string; endpoint_id: string; secret: string }>(
    db,
    sql`select id, endpoint_id, secret from endpoint_secrets
        where id > ${afterId} and secret not like ${current}
        order by id limit ${SEAL_BATCH}`,
  );
  const changes: Array<{ id: string; old: string; new: string }> = [];
  let unreadable = 0;
  for (const row of rows) {
    const secret = box.open(row.secret, row.endpoint_id);
    if (secret === null) unreadable += 1;
    else changes.push({ id: row.id, old: row.secret, new: box.seal(secret, row.endpoint_id) });
  }
  let sealed = 0;
  if (changes.length > 0) {
    const written = await executeRows<{ id: string }>(
      db,
      sql`update endpoint_secrets s set secret = v.new
          from json_to_recordset(${JSON.stringify(changes)}::json) as v(id text, old text, new text)
          where s.id = v.id and s.secret = v.old
          returning s.id`,
    );
    sealed = written.length;
  }
  return { sealed, unreadable, lastId: rows.length === SEAL_BATCH ? rows[rows.length - 1]!.id : null };
}
