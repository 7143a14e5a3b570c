import { describeDb } from '@herald/db/testing';
import { expect, it } from 'vitest';
import { sleep, startHerald } from './harness';

/*
 * Nothing missed while disabled: events of the disabled period are kept
 * (they are events), and `recover { since }` after re-enabling delivers
 * them, each once. Re-enabling alone resumes new events only.
 */

describeDb('a disabled endpoint misses nothing', (t) => {
  it('re-enabled then recovered, it receives the events of its disabled period, each once', async () => {
    const h = await startHerald(t);
    const receiver = await h.receiver();
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: receiver.url, eventTypes: ['user.created'] });
    const before = await p.createUser();
    await receiver.waitForRequests(1);

    const disabledAt = new Date().toISOString();
    await p.call(`/v1/endpoints/${endpoint.id}`, 200, { method: 'PATCH', json: { disabled: true } });
    // A delivered webhook is not sent again to a disabled endpoint: 409, and its log still says succeeded.
    const [delivered] = await p.settled({ expected: 1 });
    const refused = await p.request(`/v1/deliveries/${delivered!.id}/retry`, { method: 'POST' });
    expect(refused.status).toBe(409);
    expect(await p.delivery(delivered!.id)).toMatchObject({ status: 'succeeded' });
    const missed = [];
    for (let i = 0; i < 5; i++) missed.push(await p.createUser());
    await p.call(`/v1/users/${before.id}`, 200, { method: 'PATCH', json: { name: 'not subscribed' } });
    await sleep(300);
    expect(receiver.requests).toHaveLength(1);

    await p.call(`/v1/endpoints/${endpoint.id}`, 200, { method: 'PATCH', json: { disabled: false } });
    await sleep(300);
    expect(receiver.requests).toHaveLength(1); // re-enabling alone does not replay

    // Two recoveries at once: each missed event is queued once. One at a time runs per project: the
    // other answers 429 if it came while the first ran (on PostgreSQL), and finds nothing left after.
    const recover = () =>
      p.request(`/v1/endpoints/${endpoint.id}/recover`, { json: { since: disabledAt } }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { missed: number },
      }));
    const both = await Promise.all([recover(), recover()]);
    for (const answer of both) expect([202, 429]).toContain(answer.status);
    const recovered = both.filter((answer) => answer.status === 202);
    expect(recovered.length).toBeGreaterThan(0);
    expect(recovered.reduce((sum, answer) => sum + answer.body.missed, 0)).toBe(5);
    await receiver.waitForRequests(6);
    await p.settled({ expected: 6 });
    await sleep(200);
    const ids = receiver.requests.map((r) => r.webhookId);
    expect(new Set(ids).size).toBe(6);
    expect(receiver.requests).toHaveLength(6);
    const emails = receiver.requests.slice(1).map((r) => JSON.parse(r.body).data.user.email);
    expect(emails.sort()).toEqual(missed.map((u) => u.email).sort());

    // Recovering again finds nothing missed.
    const again = await p.call(`/v1/endpoints/${endpoint.id}/recover`, 202, { json: { since: disabledAt } });
    expect(again).toMatchObject({ missed: 0 });
  });

  it('an endpoint never receives events older than itself', async () => {
    const h = await startHerald(t);
    const receiver = await h.receiver();
    const p = await h.project();
    await p.createUser();
    const { endpoint } = await p.createEndpoint({ url: receiver.url });
    const recovered = await p.call(`/v1/endpoints/${endpoint.id}/recover`, 202, {
      json: { since: '2020-01-01T00:00:00Z' },
    });
    expect(recovered).toMatchObject({ missed: 0, requeued: 0 });
  });
});
