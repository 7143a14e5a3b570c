import type { Database } from '@herald/db';
import { executeRows } from '@herald/db';
import { sql } from 'drizzle-orm';
import { assertHistoryDayTable } from './retention';

/**
 * Whether a transaction still open could read row versions `table` no longer needs: then a
 * rewrite (`CLUSTER`, `VACUUM FULL`) has to copy those dead versions too, and gives nothing back.
 *
 * A rewrite keeps every version deleted by a transaction not older than the oldest snapshot a
 * transaction of this database may hold. That horizon is the oldest of: the snapshots held in
 * this database (`backend_xmin`), the transactions running anywhere in the cluster (`backend_xid`:
 * the rewrite's own snapshot starts at the oldest of them, so a long write in another database,
 * or a `CREATE DATABASE` copying a template, holds it back too), replication slots and prepared
 * transactions. A row written (inserted or updated) at or after that horizon may have a dead
 * version beside it. Rows written later than the check are not a concern: their writers start
 * after every transaction counted here.
 *
 * Reads the whole table (age of every row's `xmin`), as the rewrite would; none when nothing else
 * is open. `pg_stat_activity` shows `backend_xid` and `backend_xmin` to every role.
 */
export async function olderSnapshotsHoldDeadRows(tx: Database, table: string): Promise<boolean> {
  assertHistoryDayTable(table);
  const [horizon] = await executeRows<{ age: number | null }>(
    tx,
    sql`select max(a)::int as age from (
          select age(backend_xid) from pg_stat_activity where backend_xid is not null and pid <> pg_backend_pid()
          union all
          select age(backend_xmin) from pg_stat_activity
            where backend_xmin is not null and pid <> pg_backend_pid()
              and (datname = current_database() or datname is null)
          union all select age(xmin) from pg_replication_slots where xmin is not null
          union all select age(transaction) from pg_prepared_xacts
        ) horizon(a)`,
  );
  if (horizon?.age == null) return false; // nothing else open
  const age = Number(horizon.age);
  const [written] = await executeRows<{ held: boolean }>(
    tx,
    sql`select exists (select 1 from ${sql.identifier(table)} where age(xmin) <= ${age}) as held`,
  );
  return written?.held === true;
}
