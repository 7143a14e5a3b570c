import type { Database } from '@herald/db';
import { executeRows } from '@herald/db';
import { sql } from 'drizzle-orm';
import { briefLockWaits } from './lock-waits';
import { listHistoryPartitions } from './partitions';
import { readQueueWindow } from './queue-window';
import { assertHistoryDayTable } from './retention';
import { olderSnapshotsHoldDeadRows } from './snapshot-horizon';

/**
 * Left on a day's history table once it is rewritten, so each table is compacted once. A comment
 * rather than a table of our own: it lives and dies with the partition, and a restored or copied
 * database keeps it.
 */
export const COMPACTED_MARKER = 'herald: compacted after payload retention';

/**
 * Day partitions whose every event lies past payload retention and no longer holds a payload
 * (so none of their deliveries is queued: an event with a queued delivery keeps its payload),
 * with those of their three tables not compacted yet; oldest day first, at most `limitDays`.
 * Only days below the queue window's floor: the dispatchers' claims are planned over every day
 * partition from the floor on (sql/queue-window.ts) and would wait for a rewrite's lock; a day
 * above an older queued delivery waits until that one is done. Without a floor, none.
 *
 * Payload retention clears payloads in place: the day's heap keeps its size (a 19 MB table of
 * 1 KB payloads stays 19 MB after `data = '{}'` and a VACUUM, as nothing is ever inserted into
 * a past day again), so without a rewrite the disk would not shrink before the day is dropped.
 */
export async function tablesToCompact(
  db: Database,
  payloadCutoff: Date,
  { limitDays, maxTableBytes }: { limitDays: number; maxTableBytes: number },
): Promise<string[][]> {
  if (limitDays <= 0) return [];
  const { floor } = await readQueueWindow(db);
  if (floor === null) return [];
  const before = Math.min(payloadCutoff.getTime(), floor.getTime());
  const partitions = (await listHistoryPartitions(db)).filter(
    (p) => /^p[0-9]{8}$/.test(p.suffix) && p.to !== null && p.to.getTime() <= before,
  );
  if (partitions.length === 0) return [];
  // Left out: tables compacted already, and those too large to hold locked while they are rewritten.
  const left = new Set(
    (
      await executeRows<{ name: string }>(
        db,
        sql`select c.relname as name from pg_class c
            where c.relnamespace = to_regnamespace(current_schema()) and c.relkind = 'r'
              and c.relname = any(${`{${partitions.map((p) => p.name).join(',')}}`}::text[])
              and (obj_description(c.oid, 'pg_class') = ${COMPACTED_MARKER}
                   or pg_total_relation_size(c.oid) > ${maxTableBytes}::bigint)`,
      )
    ).map((r) => r.name),
  );
  const days = new Map<string, string[]>();
  for (const p of partitions.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!left.has(p.name)) days.set(p.suffix, [...(days.get(p.suffix) ?? []), p.name]);
  }
  const due: string[][] = [];
  const names = new Set(partitions.map((p) => p.name));
  for (const [suffix, tables] of [...days].sort(([a], [b]) => a.localeCompare(b))) {
    if (due.length >= limitDays) break;
    const events = `events_${suffix}`;
    assertHistoryDayTable(events);
    if (!names.has(events)) continue; // a day without its events partition is not one Herald made
    // Through the partial index of events still holding a payload: one probe per day.
    const [kept] = await executeRows<{ kept: boolean }>(
      db,
      sql`select exists (select 1 from ${sql.identifier(events)} where payload_expired_at is null) as kept`,
    );
    if (!kept?.kept) due.push(tables);
  }
  return due;
}

/**
 * Rewrites one day's history table, packed and in id order, with fresh indexes (`CLUSTER` on its
 * primary key), and marks it. The table is locked while it is rewritten: the dispatchers' claims
 * and outcome writes do not read it (it lies below the queue window), but statements planned over
 * every day do wait (API lists without a cursor, the queue window's refresh, metrics), about a
 * second per 100 MB on a 2-core host; hence the size limit. The lock is waited for briefly, as
 * retention's are.
 *
 * Not while a transaction open since before the payloads were cleared could still read them
 * (`'held'`, left unmarked for the next run): the rewrite would copy the cleared versions too,
 * and the table would be marked done with nothing given back.
 */
export async function compactHistoryTable(tx: Database, table: string): Promise<boolean | 'held'> {
  assertHistoryDayTable(table);
  await briefLockWaits(tx);
  // Checked again here: another run may have compacted it, or retention dropped it, since it was chosen.
  const [primary] = await executeRows<{ name: string }>(
    tx,
    sql`select i.relname as name from pg_class c
        join pg_index x on x.indrelid = c.oid and x.indisprimary join pg_class i on i.oid = x.indexrelid
        where c.oid = to_regclass(${table}) and c.relispartition
          and obj_description(c.oid, 'pg_class') is distinct from ${COMPACTED_MARKER}`,
  );
  if (!primary) return false;
  if (await olderSnapshotsHoldDeadRows(tx, table)) return 'held';
  await tx.execute(sql.raw(`cluster "${table}" using "${primary.name.replaceAll('"', '""')}"`));
  await tx.execute(sql.raw(`comment on table "${table}" is '${COMPACTED_MARKER}'`));
  return true;
}
