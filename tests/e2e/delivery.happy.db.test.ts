import { deliveries, events } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { USER_AGENT } from '@herald/delivery';
import { eq } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { expect, it } from 'vitest';
import { sleep, startHerald, uniqueEmail, waitFor, webhookHeaders } from './harness';

describeDb('dispatcher end to end: deliveries that succeed', (t) => {
  it('delivers a signed Standard Webhook that the standardwebhooks package verifies, with the custom headers', async () => {
    const h = await startHerald(t);
    const receiver = await h.receiver();
    const p = await h.project();
    const { endpoint, secret } = await p.createEndpoint({
      url: `${receiver.url}/hooks?src=herald`,
      headers: { 'X-Tenant': 'acme', 'x-trace-token': 't0k3n' },
    });
    expect(secret).toMatch(/^whsec_/);

    const user = await p.createUser('ada@example.com');
    const [req] = await receiver.waitForRequests(1);
    const [event] = await p.events('user.created');

    expect(req!.method).toBe('POST');
    expect(req!.url).toBe('/hooks?src=herald');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['user-agent']).toBe(USER_AGENT);
    expect(req!.headers['x-tenant']).toBe('acme');
    expect(req!.headers['x-trace-token']).toBe('t0k3n');
    expect(req!.webhookId).toBe(event!.id);
    const ts = Number(req!.headers['webhook-timestamp']);
    expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(30);

    // The receiver's side of the contract: the npm reference library accepts it.
    const verified = new Webhook(secret).verify(req!.body, webhookHeaders(req!)) as Record<string, any>;
    expect(verified).toMatchObject({
      id: event!.id,
      type: 'user.created',
      version: 1,
      data: { user: { id: user.id, email: 'ada@example.com' } },
    });
    expect(verified.timestamp).toBe(new Date(verified.timestamp).toISOString());
    // A tampered body or a foreign secret does not verify.
    expect(() => new Webhook(secret).verify(req!.body.replace('ada@', 'eve@'), webhookHeaders(req!))).toThrow();
    expect(() =>
      new Webhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw').verify(req!.body, webhookHeaders(req!)),
    ).toThrow();

    const [delivery] = await p.settled({ expected: 1 });
    expect(delivery).toMatchObject({
      endpointId: endpoint.id,
      eventId: event!.id,
      status: 'succeeded',
      attemptCount: 1,
      lastStatusCode: 200,
      leaseOwner: null,
    });
    const view = await p.delivery(delivery!.id);
    expect(view).toMatchObject({ status: 'succeeded', eventType: 'user.created', attemptCount: 1 });
    expect(view.attempts).toEqual([
      expect.objectContaining({ attemptNumber: 1, statusCode: 200, errorClass: null, responseBody: 'ok' }),
    ]);
    expect(receiver.requests).toHaveLength(1);
  });

  it("shows the exact body it sent (GET /v1/deliveries/{id}/request), whose data is the event's as the API returns it", async () => {
    const h = await startHerald(t);
    const receiver = await h.receiver();
    const p = await h.project();
    const { secret } = await p.createEndpoint({ url: receiver.url });
    // Text that JSON escapes and non-ASCII text: the body carries the data as stored.
    const name = 'Zoë "Q" \\ tab\t line\u2028 end 😀';
    const user = await p.call<{ id: string; email: string }>('/v1/users', 201, {
      json: { email: uniqueEmail(), name },
    });
    const [req] = await receiver.waitForRequests(1);
    const [delivery] = await p.settled({ expected: 1 });
    const [event] = await p.events('user.created');

    const shown = await p.call<{ body: string }>(`/v1/deliveries/${delivery!.id}/request`, 200);
    expect(shown.body).toBe(req!.body);
    const sent = new Webhook(secret).verify(req!.body, webhookHeaders(req!)) as Record<string, any>;
    expect(Object.keys(sent)).toEqual(['id', 'type', 'version', 'timestamp', 'subject', 'sequence', 'data']);
    expect(sent).toMatchObject({ id: event!.id, subject: user.id, sequence: 1 });
    expect(sent.data).toEqual(event!.data);
    expect(sent.data.user).toMatchObject({ email: user.email, name });
  });

  it('honours event-type filters: an endpoint subscribed to user.created gets no user.deleted', async () => {
    const h = await startHerald(t);
    const createdOnly = await h.receiver();
    const everything = await h.receiver();
    const p = await h.project();
    const filtered = await p.createEndpoint({ url: createdOnly.url, eventTypes: ['user.created'] });
    const all = await p.createEndpoint({ url: everything.url });

    const user = await p.createUser();
    await p.call(`/v1/users/${user.id}`, 200, { method: 'DELETE' });
    await p.settled({ expected: 3 });
    await h.dispatcher.idle();

    const types = (r: typeof createdOnly) => r.requests.map((req) => JSON.parse(req.body).type);
    expect(types(createdOnly)).toEqual(['user.created']);
    expect(types(everything).sort()).toEqual(['user.created', 'user.deleted']);
    expect(await p.deliveriesOf(filtered.endpoint.id)).toEqual([
      expect.objectContaining({ eventType: 'user.created', status: 'succeeded' }),
    ]);
    expect(await p.deliveriesOf(all.endpoint.id)).toHaveLength(2);
  });

  it('sends a test event to that one endpoint only, and never lists it among the events', async () => {
    const h = await startHerald(t);
    const target = await h.receiver();
    const other = await h.receiver();
    const p = await h.project();
    // A filter for another type does not stop a test event: it was asked for explicitly.
    const { endpoint, secret } = await p.createEndpoint({ url: target.url, eventTypes: ['user.created'] });
    await p.createEndpoint({ url: other.url });

    const sent = await p.call<{ eventId: string; eventType: string }>(`/v1/endpoints/${endpoint.id}/test`, 202, {
      json: { eventType: 'user.deleted' },
    });
    expect(sent.eventType).toBe('user.deleted');
    const [req] = await target.waitForRequests(1);
    expect(req!.webhookId).toBe(sent.eventId);
    expect(new Webhook(secret).verify(req!.body, webhookHeaders(req!))).toMatchObject({
      id: sent.eventId,
      type: 'user.deleted',
    });

    await p.settled({ expected: 1 });
    await h.dispatcher.idle();
    expect(other.requests).toHaveLength(0);
    expect(await p.events()).toEqual([]);
    await p.call(`/v1/events/${sent.eventId}`, 404);
    // Unknown event types are refused.
    expect(
      (await p.request(`/v1/endpoints/${endpoint.id}/test`, { json: { eventType: 'user.exploded' } })).status,
    ).toBe(400);
  });

  it('a change that rolls back leaves no event and no delivery behind', async () => {
    const h = await startHerald(t);
    const receiver = await h.receiver();
    const p = await h.project();
    await p.createEndpoint({ url: receiver.url });
    const email = uniqueEmail('dup');
    await p.createUser(email);
    await p.settled({ expected: 1 });

    const duplicate = await p.request('/v1/users', { json: { email } });
    expect(duplicate.status).toBe(409);
    expect(((await duplicate.json()) as { error: { code: string } }).error.code).toBe('email_taken');
    // Deleting a user that does not exist fails inside the same kind of transaction.
    expect((await p.request('/v1/users/usr_00000000000000000000000000', { method: 'DELETE' })).status).toBe(404);

    await sleep(150);
    await h.dispatcher.idle();
    expect(await p.events()).toHaveLength(1);
    expect(await t.db.select().from(events).where(eq(events.projectId, p.id))).toHaveLength(1);
    expect(await t.db.select().from(deliveries).where(eq(deliveries.projectId, p.id))).toHaveLength(1);
    expect(receiver.requests).toHaveLength(1);
  });

  it('serves /metrics with outcomes, the attempt latency histogram, the due queue depth and the oldest due age', async () => {
    const h = await startHerald(t, { start: false });
    const receiver = await h.receiver();
    const p = await h.project();
    await p.createEndpoint({ url: receiver.url });
    // A `herald listen` endpoint with no CLI attached: its deliveries are counted apart.
    const listen = await p.call('/v1/endpoints/listen', 201, { json: { forwardTo: 'http://localhost:3000/hooks' } });
    for (let i = 0; i < 3; i++) await p.createUser();
    await sleep(100);
    const scrape = async () => {
      // The in-process dispatcher's metrics are served on the API's own port.
      const response = await h.app.request('/metrics');
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      return response.text();
    };
    const series = (text: string, name: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${name} `));
      return line === undefined ? undefined : Number(line.slice(name.length + 1));
    };

    const before = await scrape();
    expect(series(before, 'herald_due_deliveries')).toBe(3);
    expect(series(before, 'herald_due_listen_deliveries')).toBe(3);
    await p.call(`/v1/endpoints/${listen.endpoint.id}`, 200, { method: 'DELETE' });
    expect(series(before, 'herald_oldest_due_delivery_age_seconds')).toBeGreaterThanOrEqual(0.05);
    expect(before).toContain('# TYPE herald_deliveries_total counter');
    expect(before).toContain('# TYPE herald_attempt_duration_seconds histogram');
    expect(series(before, 'herald_attempt_duration_seconds_count')).toBe(0);

    await h.dispatcher.start();
    await p.settled({ expected: 3 });
    const after = await scrape();
    expect(series(after, 'herald_deliveries_total{outcome="succeeded"}')).toBe(3);
    expect(series(after, 'herald_attempt_duration_seconds_count')).toBe(3);
    expect(series(after, 'herald_attempt_duration_seconds_bucket{le="+Inf"}')).toBe(3);
    expect(series(after, 'herald_attempt_duration_seconds_bucket{le="30"}')).toBe(3);
    expect(series(after, 'herald_attempt_duration_seconds_sum')).toBeGreaterThan(0);
    expect(series(after, 'herald_due_deliveries')).toBe(0);
    expect(series(after, 'herald_oldest_due_delivery_age_seconds')).toBe(0);
  });

  it('delivers many events to several endpoints, each delivery once', async () => {
    const h = await startHerald(t);
    const a = await h.receiver();
    const b = await h.receiver();
    const p = await h.project();
    await p.createEndpoint({ url: a.url });
    await p.createEndpoint({ url: b.url });
    await Promise.all(Array.from({ length: 20 }, () => p.createUser()));
    const rows = await p.settled({ expected: 40 });
    expect(rows.every((r) => r.status === 'succeeded' && r.attemptCount === 1)).toBe(true);
    await waitFor(() => a.requests.length === 20 && b.requests.length === 20);
    expect(new Set(a.requests.map((r) => r.webhookId)).size).toBe(20);
    expect(new Set(b.requests.map((r) => r.webhookId))).toEqual(new Set(a.requests.map((r) => r.webhookId)));
  });
});
