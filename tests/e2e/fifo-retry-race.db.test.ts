import type { Database } from '@herald/db';
import { newId, newIdAt } from '@herald/db';
import { describeDb, gate } from '@herald/db/testing';
import { claimDueDeliveries, defaultRetryPolicy, lockQueuedOfFifoSubjects, recordAttempt } from '@herald/delivery';
import { sql } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { sleep, startHerald, succeededAttempt } from './harness';

describeDb('a manual retry racing two dispatchers’ claims on a FIFO endpoint', (t) => {
  // Two dispatchers claiming side by side need two connections: PGlite is one, and runs one dispatcher.
  it.skipIf(t.driver !== 'postgres').each(['retry', 'recover'] as const)(
    'never puts two deliveries of one subject in flight: a %s waits for the claim that is taking a later one',
    async (requeue) => {
      const h = await startHerald(t, { start: false });
      const project = await h.project();
      const { endpoint } = await project.createEndpoint({ url: 'http://127.0.0.1:9/fifo', ordering: 'fifo' });
      // Sequence 1 of the subject failed for good (or was missed); sequence 2 is due.
      const now = Date.now();
      const [first, second] = [1, 2].map((sequence) => ({
        sequence,
        eventId: newId('event', now),
        id: newIdAt('delivery', now),
        status: sequence === 1 ? 'failed' : 'pending',
      }));
      for (const row of [first!, second!]) {
        await t.db.execute(sql`insert into events (id, project_id, type, version, data, subject, sequence, created_at)
          values (${row.eventId}, ${project.id}, 'user.updated', 1, '{}'::jsonb, 'usr_race', ${row.sequence}, now())`);
        // recover: the endpoint missed sequence 1 (it has no delivery for it).
        if (requeue === 'recover' && row.sequence === 1) continue;
        await t.db.execute(sql`insert into deliveries (id, project_id, endpoint_id, event_id, status, next_attempt_at, subject, sequence)
          values (${row.id}, ${project.id}, ${endpoint.id}, ${row.eventId}, ${row.status},
                  ${row.status === 'pending' ? sql`now()` : sql`null`}, 'usr_race', ${row.sequence})`);
      }

      // Dispatcher A's claim has taken sequence 2 and has not committed yet.
      let commitA!: () => void;
      const aCommitted = new Promise<void>((resolve) => {
        commitA = resolve;
      });
      let aHolds!: () => void;
      const aTook = new Promise<void>((resolve) => {
        aHolds = resolve;
      });
      const claimA = t.db.transaction(async (tx) => {
        await tx.execute(sql`update deliveries set status = 'in_flight', lease_owner = 'dispatcher-A',
            next_attempt_at = now() + interval '1 minute' where id = ${second!.id}`);
        aHolds();
        await aCommitted;
      });
      await aTook;

      // Meanwhile sequence 1 is queued (retried, or recovered as missed), and dispatcher B claims.
      const retry =
        requeue === 'retry'
          ? project.request(`/v1/deliveries/${first!.id}/retry`, { method: 'POST' })
          : project.request(`/v1/endpoints/${endpoint.id}/recover`, {
              json: { since: new Date(now - 60_000).toISOString() },
            });
      await sleep(200);
      const claimedByB = await claimDueDeliveries(t.db, { limit: 64, leaseMs: 60_000, owner: 'dispatcher-B' });
      commitA();
      await claimA;
      expect((await retry).status).toBe(202);
      const claimedAfter = await claimDueDeliveries(t.db, { limit: 64, leaseMs: 60_000, owner: 'dispatcher-C' });

      expect([...claimedByB, ...claimedAfter].map((d) => d.id)).toEqual([]);
      const rows = await project.deliveryRows();
      expect(rows.filter((row) => row.status === 'in_flight').map((row) => row.sequence)).toEqual([2]);
      expect(rows.find((row) => row.sequence === 1)?.status).toBe('pending');
    },
  );

  it.skipIf(t.driver !== 'postgres')(
    "a recovery of a subject never holds up the outcome of the subject's delivery in flight (nor the others in its write)",
    async () => {
      const h = await startHerald(t, { start: false });
      const project = await h.project();
      const { endpoint } = await project.createEndpoint({ url: 'http://127.0.0.1:9/fifo', ordering: 'fifo' });
      const eventId = newId('event', Date.now());
      const deliveryId = newIdAt('delivery', Date.now());
      await t.db.execute(sql`insert into events (id, project_id, type, version, data, subject, sequence, created_at)
        values (${eventId}, ${project.id}, 'user.updated', 1, '{}'::jsonb, 'usr_recovered', 2, now())`);
      await t.db.execute(sql`insert into deliveries (id, project_id, endpoint_id, event_id, status, next_attempt_at, subject, sequence)
        values (${deliveryId}, ${project.id}, ${endpoint.id}, ${eventId}, 'pending', now(), 'usr_recovered', 2)`);
      const [inFlight] = await claimDueDeliveries(t.db, { limit: 64, leaseMs: 60_000, owner: 'dispatcher-A' });
      expect(inFlight?.id).toBe(deliveryId);

      // A recovery of the subject that has taken its lock and is still requeuing (a long one).
      const recoveryDone = gate();
      const lockTaken = gate();
      const recovery = t.db.transaction(async (tx) => {
        await lockQueuedOfFifoSubjects(
          tx as unknown as Database,
          sql`select ${endpoint.id}::text, 'usr_recovered'::text`,
        );
        lockTaken.open();
        await recoveryDone.opened;
      });
      await lockTaken.opened;

      // The receiver answered: the outcome is written at once. It waited for the recovery's commit
      // before, and with it every other tenant's outcome in the same group commit.
      let written = false;
      const write = recordAttempt(t.db, inFlight!, succeededAttempt, {
        owner: 'dispatcher-A',
        retryPolicy: defaultRetryPolicy,
        failureWindowMs: 86_400_000,
        startedAt: new Date(),
      }).finally(() => {
        written = true;
      });
      let waitedForLock = false;
      while (!written && !waitedForLock) {
        const [row] = await t.herald.sql!<{ n: number }[]>`select count(*)::int as n from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock'`;
        waitedForLock = row!.n > 0;
        await sleep(20);
      }
      recoveryDone.open();
      await recovery;
      expect({ waitedForLock, outcome: (await write).outcome }).toEqual({ waitedForLock: false, outcome: 'succeeded' });
    },
  );
});
