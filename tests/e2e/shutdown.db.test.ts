import { connect } from 'node:net';
import { deliveries } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { claimDueDeliveries, releaseLeases } from '@herald/delivery';
import { eq } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { spawnApi, spawnDispatcher, startHerald, waitFor } from './harness';

const POSTGRES_ONLY = 'needs PostgreSQL: a dispatcher process cannot open the test’s in-memory PGlite';

describeDb('graceful shutdown', (t) => {
  it('stop() lets an in-flight delivery finish and record its attempt', async () => {
    const h = await startHerald(t);
    const receiver = await h.receiver(() => ({ status: 200, delayMs: 600 }));
    const p = await h.project();
    await p.createEndpoint({ url: receiver.url });
    await p.createUser();
    await receiver.waitForRequests(1);

    const stopping = Date.now();
    await h.dispatcher.stop();
    expect(Date.now() - stopping).toBeGreaterThanOrEqual(300);
    const [row] = await p.deliveryRows();
    expect(row).toMatchObject({ status: 'succeeded', attemptCount: 1, leaseOwner: null });
    // Stopped means stopped: nothing more is claimed.
    await p.createUser();
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.requests).toHaveLength(1);
    expect((await p.deliveryRows())[1]).toMatchObject({ status: 'pending', attemptCount: 0 });
  });

  it('releaseLeases gives back what a worker claimed but will not send', async () => {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    await p.createEndpoint({ url: 'http://127.0.0.1:9/' });
    await p.createUser();
    await p.createUser();
    const claimed = await claimDueDeliveries(t.db, { limit: 10, leaseMs: 60_000, owner: 'worker-a' });
    expect(claimed.map((c) => c.projectId)).toEqual([p.id, p.id]);
    expect((await p.deliveryRows()).map((r) => [r.status, r.leaseOwner])).toEqual([
      ['in_flight', 'worker-a'],
      ['in_flight', 'worker-a'],
    ]);
    // Leased rows are not due for anybody else.
    expect(await claimDueDeliveries(t.db, { limit: 10, leaseMs: 60_000, owner: 'worker-b' })).toEqual([]);
    expect(await releaseLeases(t.db, 'worker-b')).toBe(0);
    expect(await releaseLeases(t.db, 'worker-a')).toBe(2);
    const rows = await p.deliveryRows();
    expect(rows.map((r) => [r.status, r.leaseOwner, r.attemptCount])).toEqual([
      ['pending', null, 0],
      ['pending', null, 0],
    ]);
    expect(rows.every((r) => r.nextAttemptAt!.getTime() <= Date.now() + 1_000)).toBe(true);
    expect(await claimDueDeliveries(t.db, { limit: 10, leaseMs: 60_000, owner: 'worker-b' })).toHaveLength(2);
    await t.db.update(deliveries).set({ status: 'failed', leaseOwner: null }).where(eq(deliveries.projectId, p.id));
  });

  it('a dispatcher process given SIGTERM mid-delivery finishes it and exits 0', async (ctx) => {
    if (t.driver !== 'postgres') return ctx.skip(POSTGRES_ONLY);
    const h = await startHerald(t, { start: false });
    const receiver = await h.receiver(() => ({ status: 200, delayMs: 1_500 }));
    const p = await h.project();
    await p.createEndpoint({ url: receiver.url });
    const proc = spawnDispatcher({
      DATABASE_URL: t.url!,
      HERALD_ALLOW_PRIVATE_NETWORKS: '1',
      HERALD_REQUEST_TIMEOUT: '5s',
      HERALD_LEASE: '10s',
      HERALD_POLL_INTERVAL: '100ms',
    });
    await proc.ready;

    await p.createUser();
    await receiver.waitForRequests(1, 10_000);
    const signalledAt = Date.now();
    proc.terminate();
    const exit = await proc.exited;
    const answeredAt = receiver.requests[0]!.at + 1_500;
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    // It waited for the answer instead of dying with the request open.
    expect(exit.at).toBeGreaterThanOrEqual(answeredAt - 50);
    expect(exit.at - signalledAt).toBeLessThan(10_000);
    const [row] = await p.deliveryRows();
    expect(row).toMatchObject({ status: 'succeeded', attemptCount: 1, leaseOwner: null, lastStatusCode: 200 });
    expect(proc.output()).toContain('shutting down');
    expect(receiver.requests).toHaveLength(1);
  });

  it('an API process given SIGTERM while a client never finishes its body closes that connection and exits 0', async (ctx) => {
    if (t.driver !== 'postgres') return ctx.skip(POSTGRES_ONLY);
    const proc = spawnApi({ DATABASE_URL: t.url!, HERALD_SHUTDOWN_TIMEOUT: '2s' });
    await proc.ready;
    const url = new URL(/"url":"([^"]+)"/.exec(proc.output())![1]!);
    // Headers promise 1,000 bytes of body; 1 comes. Node would wait for the rest for 300 s.
    const socket = connect(Number(url.port), url.hostname);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    socket.write(
      'POST /v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const signalledAt = Date.now();
    proc.terminate();
    const exit = await proc.exited;
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    // Half of HERALD_SHUTDOWN_TIMEOUT for requests under way, then their connections are closed.
    expect(exit.at - signalledAt).toBeGreaterThanOrEqual(900);
    expect(exit.at - signalledAt).toBeLessThan(4_000);
    await closed;
  });

  it('a dispatcher process that cannot finish within HERALD_SHUTDOWN_TIMEOUT exits 1 then; a second signal exits 1 at once', async (ctx) => {
    if (t.driver !== 'postgres') return ctx.skip(POSTGRES_ONLY);
    const h = await startHerald(t, { start: false });
    const receiver = await h.receiver(() => 'hang');
    const p = await h.project();
    await p.createEndpoint({ url: receiver.url });
    const env = {
      DATABASE_URL: t.url!,
      HERALD_ALLOW_PRIVATE_NETWORKS: '1',
      // The request would hold the stop for 30 s.
      HERALD_REQUEST_TIMEOUT: '30s',
      HERALD_LEASE: '60s',
      HERALD_POLL_INTERVAL: '100ms',
      HERALD_SHUTDOWN_TIMEOUT: '2s',
    };
    const patient = spawnDispatcher(env);
    await patient.ready;
    await p.createUser();
    await receiver.waitForRequests(1, 10_000);
    const signalledAt = Date.now();
    patient.terminate();
    const deadline = await patient.exited;
    expect({ code: deadline.code, signal: deadline.signal }).toEqual({ code: 1, signal: null });
    expect(deadline.at - signalledAt).toBeGreaterThanOrEqual(1_900);
    expect(deadline.at - signalledAt).toBeLessThan(5_000);
    expect(patient.output()).toContain('shutdown did not finish in time');

    // The delivery is due again after its lease; a second dispatcher takes it, and is signalled twice.
    await t.db.update(deliveries).set({ nextAttemptAt: new Date() }).where(eq(deliveries.projectId, p.id));
    const impatient = spawnDispatcher({ ...env, HERALD_SHUTDOWN_TIMEOUT: '60s' });
    await impatient.ready;
    await receiver.waitForRequests(2, 10_000);
    impatient.terminate();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const secondAt = Date.now();
    impatient.terminate();
    const twice = await impatient.exited;
    expect({ code: twice.code, signal: twice.signal }).toEqual({ code: 1, signal: null });
    expect(twice.at - secondAt).toBeLessThan(2_000);
    expect(impatient.output()).toContain('second signal');
  });

  it('a dispatcher process given SIGTERM while the receiver hangs records the timeout, keeps the delivery due, and exits 0', async (ctx) => {
    if (t.driver !== 'postgres') return ctx.skip(POSTGRES_ONLY);
    const h = await startHerald(t, { start: false });
    const receiver = await h.receiver(() => 'hang');
    const p = await h.project();
    await p.createEndpoint({ url: receiver.url });
    const proc = spawnDispatcher({
      DATABASE_URL: t.url!,
      HERALD_ALLOW_PRIVATE_NETWORKS: '1',
      HERALD_REQUEST_TIMEOUT: '1s',
      HERALD_LEASE: '10s',
      HERALD_POLL_INTERVAL: '100ms',
      HERALD_RETRY_SCHEDULE: '1m',
    });
    await proc.ready;
    await p.createUser();
    await receiver.waitForRequests(1, 10_000);
    proc.terminate();
    const exit = await proc.exited;
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    const [row] = await p.deliveryRows();
    // Not left in flight under a dead worker's lease: the attempt is logged and a retry is scheduled.
    expect(row).toMatchObject({ status: 'pending', attemptCount: 1, leaseOwner: null });
    const [attempt] = await p.attemptRows(row!.id);
    expect(attempt).toMatchObject({ errorClass: 'timeout', statusCode: null });
    // Another dispatcher picks it up later (here: this test's, once the receiver answers).
    receiver.respond(() => ({ status: 200 }));
    await t.db.update(deliveries).set({ nextAttemptAt: new Date() }).where(eq(deliveries.id, row!.id));
    await h.dispatcher.start();
    await waitFor(async () => (await p.deliveryRows())[0]?.status === 'succeeded');
  });
});
