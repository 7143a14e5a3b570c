/**
 * FIFO queue states written straight into the tables, and probes of them, for the FIFO parking
 * and promotion suites (fifo-backlog, fifo-promotion-race, fifo-marks).
 */
import type { Database } from '@herald/db';
import { executeRows, newId, newIdAt } from '@herald/db';
import type { TestDb } from '@herald/db/testing';
import { claimDue, claimStatement, readQueueWindow } from '@herald/delivery';
import { sql } from 'drizzle-orm';

const textArray = (values: (string | number)[]) => `{${values.join(',')}}`;

/** One event of `subject` and its pending delivery, due at now() + `due` (an interval), `attempts` made. */
export async function insertFifoRow(
  t: TestDb,
  projectId: string,
  endpointId: string,
  subject: string,
  sequence: number,
  extra: { due: string; attempts?: number; wakesNext?: boolean },
): Promise<string> {
  const e = newId('event', Date.now());
  const d = newIdAt('delivery', Date.now());
  await t.db.execute(sql`insert into events (id, project_id, type, version, data, subject, sequence, created_at)
    values (${e}, ${projectId}, 'user.updated', 1, '{}'::jsonb, ${subject}, ${sequence}, now())`);
  await t.db.execute(sql`insert into deliveries (id, project_id, endpoint_id, event_id, status, attempt_count, next_attempt_at, subject, sequence, wakes_next)
    values (${d}, ${projectId}, ${endpointId}, ${e}, 'pending', ${extra.attempts ?? 0}, now() + ${extra.due}::interval, ${subject}, ${sequence}, ${extra.wakesNext ?? false})`);
  return d;
}

/** Another subject's backlog: a head waiting for its retry, `n` due rows behind it (clogs the endpoint). */
export async function fifoFiller(t: TestDb, projectId: string, endpointId: string, n: number): Promise<void> {
  await insertFifoRow(t, projectId, endpointId, 'usr_filler', 1, { due: '1 hour', attempts: 1 });
  const ev = Array.from({ length: n }, () => newId('event', Date.now()));
  const dv = Array.from({ length: n }, () => newIdAt('delivery', Date.now()));
  const seq = Array.from({ length: n }, (_, i) => i + 2);
  await t.db.execute(sql`insert into events (id, project_id, type, version, data, subject, sequence, created_at)
    select e, ${projectId}, 'user.updated', 1, '{}'::jsonb, 'usr_filler', s, now()
    from unnest(${textArray(ev)}::text[], ${textArray(seq)}::bigint[]) as u(e, s)`);
  await t.db.execute(sql`insert into deliveries (id, project_id, endpoint_id, event_id, status, next_attempt_at, subject, sequence)
    select d, ${projectId}, ${endpointId}, e, 'pending', now(), 'usr_filler', s
    from unnest(${textArray(dv)}::text[], ${textArray(ev)}::text[], ${textArray(seq)}::bigint[]) as u(d, e, s)`);
}

/**
 * `subjects` × `per` due deliveries, round robin (subject i's k-th is the k-th of its subject),
 * oldest first in that order. Each subject's first: `heads` `waiting` for a retry an hour away,
 * `in_flight` to a slow receiver (a lease 10 minutes long), or `due` like the rest.
 */
export async function fifoRoundRobin(
  t: TestDb,
  projectId: string,
  endpointId: string,
  subjects: number,
  per: number,
  heads: 'waiting' | 'in_flight' | 'due',
): Promise<void> {
  const n = subjects * per;
  const now = Date.now();
  const ev = Array.from({ length: n }, () => newId('event', now));
  const dv = Array.from({ length: n }, () => newIdAt('delivery', now));
  const subject = Array.from({ length: n }, (_, i) => `usr_${i % subjects}`);
  const seq = Array.from({ length: n }, (_, i) => Math.floor(i / subjects) + 1);
  await t.db.execute(sql`insert into events (id, project_id, type, version, data, subject, sequence, created_at)
    select e, ${projectId}, 'user.updated', 1, '{}'::jsonb, s, q, now()
    from unnest(${textArray(ev)}::text[], ${textArray(subject)}::text[], ${textArray(seq)}::bigint[]) as u(e, s, q)`);
  await t.db.execute(sql`insert into deliveries (id, project_id, endpoint_id, event_id, status, next_attempt_at, subject, sequence)
    select d, ${projectId}, ${endpointId}, e, 'pending', now() - interval '1 hour' + o * interval '1 ms', s, q
    from unnest(${textArray(dv)}::text[], ${textArray(ev)}::text[], ${textArray(subject)}::text[], ${textArray(seq)}::bigint[])
      with ordinality as u(d, e, s, q, o)`);
  if (heads === 'waiting') {
    await t.db.execute(sql`update deliveries set attempt_count = 1, next_attempt_at = now() + interval '1 hour'
      where endpoint_id = ${endpointId} and sequence = 1`);
  } else if (heads === 'in_flight') {
    await t.db.execute(sql`update deliveries set status = 'in_flight', lease_owner = 'slow', next_attempt_at = now() + interval '10 minutes'
      where endpoint_id = ${endpointId} and sequence = 1`);
  }
}

/** A delivery's status and how many seconds until it is due (≤ 0: due). */
export async function deliveryState(db: Database, id: string): Promise<{ status: string; wait_s: number }> {
  const [r] = await executeRows<{ status: string; wait_s: number }>(
    db,
    sql`select status, round(extract(epoch from next_attempt_at - now()))::int as wait_s from deliveries where id = ${id}`,
  );
  return r!;
}

/** How many of an endpoint's pending deliveries are due (not parked, not waiting for a retry). */
export async function dueCount(db: Database, endpointId: string): Promise<number> {
  const [row] = await executeRows<{ n: number }>(
    db,
    sql`select count(*)::int as n from deliveries
        where endpoint_id = ${endpointId} and status = 'pending' and next_attempt_at <= now()`,
  );
  return row!.n;
}

/** Runs a claim in a transaction held open until `release` is called (its locks held, as while it runs). */
export function heldClaim(db: Database) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let claimedSignal!: (n: number) => void;
  const claimed = new Promise<number>((r) => (claimedSignal = r));
  const done = db.transaction(async (tx) => {
    const r = await claimDue(tx as unknown as Database, { limit: 64, leaseMs: 45_000, owner: 'other' });
    claimedSignal(r.parked);
    await gate;
  });
  return { parked: claimed, release, done };
}

/** Rows every node of a plan produced, all loops counted: the work a statement did. */
function rowsProduced(node: Record<string, unknown>): number {
  const own = Number(node['Actual Rows'] ?? 0) * Number(node['Actual Loops'] ?? 0);
  const children = (node.Plans as Record<string, unknown>[] | undefined) ?? [];
  return own + children.reduce((sum, child) => sum + rowsProduced(child), 0);
}

/** Carries the plan out of a transaction that must not commit (EXPLAIN ANALYZE ran the claim). */
class RolledBack extends Error {
  constructor(readonly plan: unknown) {
    super('rolled back');
  }
}

/** The rows a claim's plan produced, run as the dispatcher runs it (a generic plan), then rolled back. */
export async function claimWork(db: Database): Promise<number> {
  const window = await readQueueWindow(db);
  const claim = claimStatement({ limit: 64, leaseMs: 60_000, owner: 'probe', window });
  const plan = await db
    .transaction(async (tx) => {
      await tx.execute(sql`set local plan_cache_mode = force_generic_plan`);
      const [row] = await executeRows<Record<string, unknown>>(tx, sql`explain (analyze, format json) ${claim}`);
      throw new RolledBack(Object.values(row!)[0]);
    })
    .catch((error: unknown) => {
      if (error instanceof RolledBack) return error.plan;
      throw error;
    });
  const root = (typeof plan === 'string' ? JSON.parse(plan) : plan) as { Plan: Record<string, unknown> }[];
  return rowsProduced(root[0]!.Plan);
}
