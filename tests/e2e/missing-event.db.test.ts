import { events } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { eq } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { startHerald, waitFor } from './harness';

describeDb('a delivery whose event is gone', (t) => {
  it('fails unsent at its first claim, instead of being claimed again at every lease’s end for ever', async () => {
    // How it happens: a recovery queued a delivery for an event whose day retention was dropping.
    const h = await startHerald(t, { start: false, dispatcher: { leaseMs: 1_000, requestTimeoutMs: 500 } });
    const project = await h.project();
    const receiver = await h.receiver();
    await project.createEndpoint({ url: `${receiver.url}/hook` });
    await project.createUser();
    const [delivery] = await project.deliveryRows();
    await t.db.delete(events).where(eq(events.id, delivery!.eventId));

    h.dispatcher.start();
    const failed = await waitFor(async () => {
      const [row] = await project.deliveryRows();
      return row?.status === 'failed' ? row : null;
    });
    expect(failed).toMatchObject({ lastError: 'payload_expired', attemptCount: 0, nextAttemptAt: null });
    expect(receiver.requests).toHaveLength(0);
  });
});
