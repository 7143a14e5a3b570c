import { deliveries, deliveryAttempts } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { and, eq, inArray } from 'drizzle-orm';
import { expect, it } from 'vitest';
import type { Herald, Project, Receiver, Reply } from './harness';
import { sleep, startHerald, waitFor } from './harness';

/**
 * Outcome isolation: whatever one receiver answers, every attempt is logged
 * once, its delivery finishes, and other tenants' deliveries in the same
 * group-committed batch are received exactly once.
 */
const hostileAnswers: Record<string, Reply> = {
  'a NUL byte in the body': { status: 200, body: 'ok\0' },
  'invalid UTF-8 in the body': { status: 200, body: Buffer.from([0x6f, 0x6b, 0xff, 0xfe, 0xc3]) },
  'a 10 MB body': { status: 200, body: Buffer.alloc(10 * 1024 * 1024, 0x61) },
  'odd bytes in a header': {
    status: 200,
    raw: Buffer.concat([
      Buffer.from('HTTP/1.1 200 OK\r\nX-Odd: '),
      Buffer.from([0xff, 0xfe, 0x01, 0x7f]),
      Buffer.from('\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\0'),
    ]),
  },
  'a 500 with NUL bytes and a lone surrogate': { status: 500, body: 'bad\0\ud800' },
};

async function tenantWith(h: Herald, reply: Reply): Promise<{ project: Project; receiver: Receiver }> {
  const receiver = await h.receiver(() => reply);
  const project = await h.project();
  await project.createEndpoint({ url: receiver.url });
  return { project, receiver };
}

describeDb('delivery isolation: hostile receivers never repeat or stall anyone', (t) => {
  for (const [name, reply] of Object.entries(hostileAnswers)) {
    it(`${name}: each event is received once and logged; another tenant in the same batch is unaffected`, async () => {
      // A schedule of one retry far away: a repeat within the test can only be a re-send after a lost outcome.
      const h = await startHerald(t, {
        start: false,
        dispatcher: { retryPolicy: { delaysMs: [60_000], jitter: 0, minRetryAfterMs: 1000, maxRetryAfterMs: 60_000 } },
      });
      const hostile = await tenantWith(h, reply);
      const other = await tenantWith(h, { status: 200, body: 'fine' });
      for (let i = 0; i < 5; i++) {
        await hostile.project.createUser();
        await other.project.createUser();
      }
      // Claimed together and finished together: one group commit holds both tenants' outcomes.
      await h.dispatcher.start();
      await hostile.receiver.waitForRequests(5);
      await other.receiver.waitForRequests(5);
      const rows = await waitFor(
        async () => {
          const all = [...(await hostile.project.deliveryRows()), ...(await other.project.deliveryRows())];
          return all.every((r) => r.status !== 'in_flight' && r.attemptCount === 1) ? all : null;
        },
        { message: 'every delivery finished after one attempt' },
      );
      expect(rows).toHaveLength(10);
      const attempts = await t.db
        .select()
        .from(deliveryAttempts)
        .where(
          inArray(
            deliveryAttempts.deliveryId,
            rows.map((r) => r.id),
          ),
        );
      expect(attempts).toHaveLength(10);
      for (const a of attempts) {
        expect(a.responseBody ?? '').not.toContain('\0');
        expect((a.responseBody ?? '').length).toBeLessThanOrEqual(4096);
      }
      await sleep(300);
      expect(hostile.receiver.requests.map((r) => r.nthForId)).toEqual([1, 1, 1, 1, 1]);
      expect(other.receiver.requests.map((r) => r.nthForId)).toEqual([1, 1, 1, 1, 1]);
      expect(
        rows.filter((r) => other.receiver.forId(r.eventId).length > 0).every((r) => r.status === 'succeeded'),
      ).toBe(true);
    });
  }

  it('an endpoint deleted while its delivery is in flight: the other deliveries of the batch succeed once', async () => {
    const h = await startHerald(t, { start: false });
    const slow = await tenantWith(h, { status: 200, body: 'late', delayMs: 400 });
    const other = await tenantWith(h, { status: 200, body: 'fine', delayMs: 400 });
    for (let i = 0; i < 3; i++) {
      await slow.project.createUser();
      await other.project.createUser();
    }
    const [endpoint] = await slow.project.call('/v1/endpoints', 200, { method: 'GET' }).then((b) => b.data);
    await h.dispatcher.start();
    await slow.receiver.waitForRequests(1);
    await slow.project.call(`/v1/endpoints/${endpoint.id}`, 200, { method: 'DELETE' });
    await other.receiver.waitForRequests(3);
    const rows = await other.project.settled({ expected: 3 });
    expect(rows.every((r) => r.status === 'succeeded' && r.attemptCount === 1)).toBe(true);
    await sleep(500);
    expect(other.receiver.requests.map((r) => r.nthForId)).toEqual([1, 1, 1]);
    // The deleted endpoint's deliveries are gone with it, not re-sent.
    expect(await t.db.select().from(deliveries).where(eq(deliveries.endpointId, endpoint.id))).toHaveLength(0);
    expect(slow.receiver.requests.every((r) => r.nthForId === 1)).toBe(true);
  });

  it('a retry 30 days away is stored as such (no integer overflow), and the batch it was in is unaffected', async () => {
    const thirtyDays = 30 * 86_400_000;
    const h = await startHerald(t, {
      dispatcher: {
        retryPolicy: { delaysMs: [thirtyDays], jitter: 0, minRetryAfterMs: 1000, maxRetryAfterMs: 60_000 },
      },
    });
    const failing = await tenantWith(h, { status: 500 });
    await failing.project.createUser();
    const [row] = await waitFor(async () => {
      const rows = await failing.project.deliveryRows();
      return rows[0]?.status === 'pending' && rows[0].attemptCount === 1 ? rows : null;
    });
    const waitMs = row!.nextAttemptAt!.getTime() - Date.now();
    expect(waitMs).toBeGreaterThan(thirtyDays - 60_000);
    expect(waitMs).toBeLessThanOrEqual(thirtyDays);
    expect(
      await t.db
        .select()
        .from(deliveries)
        .where(and(eq(deliveries.projectId, failing.project.id), eq(deliveries.status, 'in_flight'))),
    ).toHaveLength(0);
  });
});
