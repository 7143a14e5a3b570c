import { events, idPattern, idTimestamp } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { eq } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { startHerald, uniqueEmail } from './harness';

/*
 * POST /v1/users writes the user, its user.created event and the event's deliveries in one
 * statement (the delivery ids minted by the database). It must fan out exactly as recordEvent
 * does, and leave nothing behind when the user is refused.
 */

describeDb('user creation in one statement', (t) => {
  it('fans out to the enabled, subscribed endpoints, with well-formed delivery ids in the event’s day', async () => {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    const all = await p.createEndpoint({ url: 'https://all.example.com/hook' });
    const users = await p.createEndpoint({ url: 'https://users.example.com/hook', eventTypes: ['user.created'] });
    await p.createEndpoint({ url: 'https://other.example.com/hook', eventTypes: ['user.deleted'] });
    const disabled = await p.createEndpoint({ url: 'https://disabled.example.com/hook' });
    await p.call(`/v1/endpoints/${disabled.endpoint.id}`, 200, { method: 'PATCH', json: { disabled: true } });

    const created = await p.createUser(uniqueEmail('one-statement'));
    const [event] = await t.db.select().from(events).where(eq(events.projectId, p.id));
    expect(event).toMatchObject({ type: 'user.created', subject: created.id, sequence: 1 });
    expect((event!.data as { user: { id: string } }).user.id).toBe(created.id);

    const rows = await p.deliveryRows();
    expect(rows.map((r) => r.endpointId).sort()).toEqual([all.endpoint.id, users.endpoint.id].sort());
    for (const row of rows) {
      expect(row.id).toMatch(idPattern('delivery'));
      expect(idTimestamp(row.id)).toEqual(idTimestamp(event!.id));
      expect(row).toMatchObject({ eventId: event!.id, status: 'pending', subject: created.id, sequence: 1 });
    }
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
  });

  it('a refused user (email taken) leaves no event and no delivery', async () => {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    await p.createEndpoint({ url: 'https://all.example.com/hook' });
    const email = uniqueEmail('taken');
    await p.createUser(email);
    const again = await p.request('/v1/users', { json: { email } });
    expect(again.status).toBe(409);
    expect(await t.db.select().from(events).where(eq(events.projectId, p.id))).toHaveLength(1);
    expect(await p.deliveryRows()).toHaveLength(1);
  });
});
