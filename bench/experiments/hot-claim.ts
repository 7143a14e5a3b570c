/**
 * What a HOT claim would give (bench/README.md, "2026-12-05 21:00 UTC"): not part of `pnpm bench`.
 *
 * A table shaped like one day of `deliveries` (its columns and its four indexes), 20,000 due rows
 * of one endpoint, claimed 56 at a time as Herald's claim takes them (`FOR UPDATE SKIP LOCKED`,
 * oldest first), with about two claims in flight (the oldest finished after each claim). Two ways
 * of claiming, each at fillfactor 100 (today) and 70:
 * - `current`: the claim moves `status` and `next_attempt_at` (the lease), both indexed, so every
 *   claimed row gets a new heap tuple and an entry in every index;
 * - `hot`: the claim writes only unindexed columns (a `lease_until` beside `lease_owner`), so
 *   PostgreSQL may update in place (HOT) when the page has room; the due scan then skips leased rows.
 * Prints the claim's and the finish's time per statement, WAL bytes per row and HOT updates.
 *
 *   npx tsx bench/experiments/hot-claim.ts   (PostgreSQL at 127.0.0.1:5432; makes and drops `hot_claim`)
 */
import postgres from 'postgres';

const base = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROWS = 20_000;
const BATCH = 56;
const CLAIMS = 300;

const admin = postgres(base, { max: 1, onnotice: () => {} });
await admin.unsafe('drop database if exists hot_claim');
await admin.unsafe('create database hot_claim');
const url = new URL(base);
url.pathname = '/hot_claim';
const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });

async function setup(fillfactor: number) {
  await sql.unsafe(`drop table if exists d;
    create table d (id text primary key, project_id text not null, endpoint_id text not null, event_id text not null,
      status text not null default 'pending', attempt_count int not null default 0, schedule_offset int not null default 0,
      next_attempt_at timestamptz, lease_owner text, lease_until timestamptz, subject text, sequence bigint,
      last_status_code int, last_error text, created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(), completed_at timestamptz) with (fillfactor = ${fillfactor});
    create index d_endpoint on d (endpoint_id, status, id);
    create index d_queued on d (endpoint_id, next_attempt_at) where status in ('pending', 'in_flight');
    create index d_event on d (event_id);
    insert into d (id, project_id, endpoint_id, event_id, next_attempt_at)
      select 'dlv_' || lpad(g::text, 12, '0'), 'prj_1', 'ep_1', 'evt_' || lpad(g::text, 12, '0'),
             now() - interval '1 minute' + g * interval '1 microsecond'
      from generate_series(1, ${ROWS}) g;`);
  await sql.unsafe('vacuum analyze d');
  await sql.unsafe('checkpoint');
}

const due = `endpoint_id = 'ep_1' and status in ('pending', 'in_flight') and next_attempt_at <= now()`;
const claims: Record<string, string> = {
  current: `update d set status = 'in_flight', next_attempt_at = now() + interval '30 s', lease_owner = 'w', updated_at = now()
            where id = any(array(select id from d where ${due}
                                 order by next_attempt_at limit ${BATCH} for update skip locked)) returning id`,
  hot: `update d set lease_until = now() + interval '30 s', lease_owner = 'w', updated_at = now()
        where id = any(array(select id from d where ${due} and (lease_until is null or lease_until <= now())
                             order by next_attempt_at limit ${BATCH} for update skip locked)) returning id`,
};

for (const round of [1, 2]) {
  for (const fillfactor of [100, 70]) {
    for (const [name, claim] of Object.entries(claims)) {
      await setup(fillfactor);
      const [start] = await sql<{ lsn: string }[]>`select pg_current_wal_lsn()::text as lsn`;
      let rows = 0;
      let claimMs = 0;
      let finishMs = 0;
      const inFlight: string[][] = [];
      for (let i = 0; i < CLAIMS; i++) {
        const t0 = performance.now();
        const claimed = (await sql.unsafe<{ id: string }[]>(claim)).map((r) => r.id);
        claimMs += performance.now() - t0;
        rows += claimed.length;
        inFlight.push(claimed);
        if (inFlight.length > 2) {
          const t1 = performance.now();
          await sql`update d set status = 'succeeded', completed_at = now(), updated_at = now(), lease_owner = null
                    where id = any(${inFlight.shift()!})`;
          finishMs += performance.now() - t1;
        }
      }
      const [wal] = await sql<
        { bytes: string }[]
      >`select pg_wal_lsn_diff(pg_current_wal_lsn(), ${start!.lsn}::pg_lsn)::text as bytes`;
      await sql`select pg_stat_force_next_flush()`;
      const [stats] = await sql<{ upd: string; hot: string }[]>`
        select n_tup_upd::text as upd, n_tup_hot_upd::text as hot from pg_stat_user_tables where relname = 'd'`;
      console.log(
        `round ${round}, fillfactor ${fillfactor}, ${name}: claim ${(claimMs / CLAIMS).toFixed(3)} ms, ` +
          `finish ${(finishMs / (CLAIMS - 2)).toFixed(3)} ms, WAL ${(Number(wal!.bytes) / rows).toFixed(0)} B/row, ` +
          `HOT ${stats!.hot} of ${stats!.upd} updates`,
      );
    }
  }
}
await sql.end();
await admin.unsafe('drop database hot_claim');
await admin.end();
