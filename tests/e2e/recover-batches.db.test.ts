import { deliveries } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { recoverEndpointDeliveries } from '@herald/delivery';
import { and, eq } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { startHerald } from './harness';

/*
 * A recovery queues at most a batch of deliveries per call (RECOVER_BATCH over the API), oldest
 * first, and says whether more remain: one call never holds a connection for the minutes a week
 * of a busy project's events would take. Calling again queues the rest, each delivery once.
 */
describeDb('recovering an endpoint in batches', (t) => {
  it('stops at its batch, failed deliveries first, and the same call again queues the rest once each', async () => {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: 'http://127.0.0.1:9/hook', eventTypes: ['user.created'] });
    for (let i = 0; i < 2; i++) await p.createUser();
    // Both delivered and failed; then the endpoint is disabled, and misses 5 users.
    await t.db
      .update(deliveries)
      .set({ status: 'failed', nextAttemptAt: null, completedAt: new Date() })
      .where(and(eq(deliveries.endpointId, endpoint.id)));
    const since = new Date(Date.now() - 60_000);
    await p.call(`/v1/endpoints/${endpoint.id}`, 200, { method: 'PATCH', json: { disabled: true } });
    for (let i = 0; i < 5; i++) await p.createUser();
    await p.call(`/v1/endpoints/${endpoint.id}`, 200, { method: 'PATCH', json: { disabled: false } });

    const target = { projectId: p.id, endpointId: endpoint.id, since, limit: 3 };
    expect(await recoverEndpointDeliveries(t.db, target)).toEqual({ requeued: 2, missed: 1, more: true });
    expect(await recoverEndpointDeliveries(t.db, target)).toEqual({ requeued: 0, missed: 3, more: true });
    expect(await recoverEndpointDeliveries(t.db, target)).toEqual({ requeued: 0, missed: 1, more: false });
    expect(await recoverEndpointDeliveries(t.db, target)).toEqual({ requeued: 0, missed: 0, more: false });
    const rows = await p.deliveryRows();
    expect(rows).toHaveLength(7);
    expect(rows.every((d) => d.status === 'pending')).toBe(true);
    expect(new Set(rows.map((d) => d.eventId)).size).toBe(7);

    // Over the API the batch is 10,000: all at once, nothing more.
    const recovered = await p.call(`/v1/endpoints/${endpoint.id}/recover`, 202, {
      json: { since: since.toISOString() },
    });
    expect(recovered).toEqual({ requeued: 0, missed: 0, more: false });
  });
});
