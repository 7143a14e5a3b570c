import type { HeraldDb } from '@herald/db';
import { createDb, endpointSecrets, endpoints, newId, projects } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import type { DeliveryWakeup } from '@herald/delivery';
import { createDeliveryWakeup, DELIVERIES_CHANNEL, recordEvent } from '@herald/delivery';
import { generateSecret } from '@herald/signing';
import { eq } from 'drizzle-orm';
import { beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { sleep, startHerald, userSnapshot } from './harness';

const HOUR = 3_600_000;
const COALESCE_MS = 10;

describeDb('dispatcher wakeup: LISTEN/NOTIFY with polling as the fallback', (t) => {
  it('delivers within moments with the poll interval at an hour: the commit wakes the dispatcher', async () => {
    const h = await startHerald(t, { dispatcher: { pollIntervalMs: HOUR } });
    const receiver = await h.receiver();
    const p = await h.project();
    await p.createEndpoint({ url: receiver.url });
    // Let the dispatcher's first claim (at start) find nothing, so only a wakeup can help.
    await h.dispatcher.idle();

    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      await p.createUser();
      await receiver.waitForRequests(i + 1, 5_000);
      expect(Date.now() - started).toBeLessThan(2_000);
    }
  });

  it('without a wakeup, a delivery waits for the next poll', async () => {
    const h = await startHerald(t, { dispatcher: { pollIntervalMs: 400 } });
    const receiver = await h.receiver();
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: receiver.url });
    await h.dispatcher.idle();
    // Written behind the API's back: nothing notifies.
    const started = Date.now();
    await t.db.transaction((tx) =>
      recordEvent(tx, { projectId: p.id, type: 'user.deleted', data: { user: exampleUser(p.id) } }),
    );
    await receiver.waitForRequests(1, 5_000);
    expect(Date.now() - started).toBeLessThan(2_000);
    await p.settled({ expected: 1 });
    expect((await p.deliveriesOf(endpoint.id))[0]).toMatchObject({ status: 'succeeded' });
  });

  describe('coalescing (PostgreSQL: NOTIFYs counted on a separate LISTEN connection)', () => {
    let writer: HeraldDb;
    let listener: HeraldDb;
    let writerWakeup: DeliveryWakeup;
    let notifications = 0;
    let unlisten: () => Promise<void>;

    beforeEach(async (ctx) => {
      if (t.driver !== 'postgres') {
        ctx.skip('NOTIFY counting needs PostgreSQL: on PGlite the wakeup is an in-process emitter');
        return;
      }
      // The writer, the listener and the dispatcher use separate connections, as separate
      // processes would. The writer skips the commit fsync so that the burst is as much of a
      // burst as a loaded 2-core machine allows; each event is still its own transaction.
      writer = await createDb({ url: `${t.url!}?synchronous_commit=off`, migrate: false });
      listener = await createDb({ url: t.url!, migrate: false, maxConnections: 1 });
      writerWakeup = createDeliveryWakeup(writer, { coalesceMs: COALESCE_MS });
      ({ unlisten } = await listener.sql!.listen(DELIVERIES_CHANNEL, () => {
        notifications += 1;
      }));
      notifications = 0;
      return async () => {
        await unlisten();
        await writerWakeup.close();
        await writer.close();
        await listener.close();
      };
    });

    async function burstProject(receiverUrl: string) {
      const projectId = newId('project');
      await writer.db.insert(projects).values({ id: projectId, name: 'burst' });
      const endpointId = newId('endpoint');
      await writer.db.insert(endpoints).values({ id: endpointId, projectId, url: receiverUrl });
      await writer.db
        .insert(endpointSecrets)
        .values({ id: newId('endpointSecret'), endpointId, secret: generateSecret() });
      onTestFinished(async () => {
        await t.db.delete(projects).where(eq(projects.id, projectId));
      });
      return projectId;
    }

    /** N events, each in its own committed transaction, from 8 concurrent writers. */
    async function writeBurst(projectId: string, n: number, afterCommit: () => void): Promise<number> {
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < n) {
            next += 1;
            await writer.db.transaction((tx) =>
              recordEvent(tx, { projectId, type: 'user.deleted', data: { user: exampleUser(projectId) } }),
            );
            afterCommit();
          }
        }),
      );
      return performance.now() - started;
    }

    it('a burst of N commits sends at most one NOTIFY per window, and every one of the N is still delivered without polling', async () => {
      const h = await startHerald(t, { dispatcher: { pollIntervalMs: HOUR } });
      const receiver = await h.receiver();
      const projectId = await burstProject(receiver.url);
      await h.dispatcher.idle();
      await sleep(50);
      notifications = 0;

      const N = 200;
      // What the API does after every commit that created deliveries.
      const burstMs = await writeBurst(projectId, N, () => writerWakeup.notify());
      // Delivered although the dispatcher never polls: the last commit was followed by a NOTIFY too.
      await receiver.waitForRequests(N, 30_000);
      await sleep(100);
      expect(new Set(receiver.requests.map((r) => r.webhookId)).size).toBe(N);
      expect(receiver.requests).toHaveLength(N);
      console.log(`wakeup burst: events=${N} in ${Math.round(burstMs)} ms, notifications=${notifications}`);
      expect(notifications).toBeGreaterThanOrEqual(1);
      // The guarantee: at most one NOTIFY per coalescing window, however many commits …
      expect(notifications).toBeLessThanOrEqual(Math.ceil(burstMs / COALESCE_MS) + 1);
      // … so never one per event (how many fewer depends on how fast the machine commits).
      expect(notifications).toBeLessThan(N);
    });

    it('N commits that finish together cost one NOTIFY', async () => {
      const h = await startHerald(t, { dispatcher: { pollIntervalMs: HOUR } });
      const receiver = await h.receiver();
      const projectId = await burstProject(receiver.url);
      await h.dispatcher.idle();
      await sleep(50);
      notifications = 0;

      // 100 concurrent API requests whose transactions commit within one window each call notify().
      const N = 100;
      await writeBurst(projectId, N, () => {});
      for (let i = 0; i < N; i++) writerWakeup.notify();
      await receiver.waitForRequests(N, 30_000);
      await sleep(100);
      expect(notifications).toBe(1);
      expect(new Set(receiver.requests.map((r) => r.webhookId)).size).toBe(N);
    });
  });
});

const exampleUser = (projectId: string) =>
  userSnapshot(newId('user'), `${projectId.slice(-6)}.${Math.random().toString(36).slice(2)}@example.com`);
