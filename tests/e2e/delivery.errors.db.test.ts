import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { describeDb } from '@herald/db/testing';
import { expect, it, onTestFinished } from 'vitest';
import { sleep, startHerald, waitFor } from './harness';

describeDb('dispatcher end to end: failures, retries and recovery', (t) => {
  it('retries a 5xx with the same webhook-id and body; GET /v1/deliveries/{id} shows both attempts', async () => {
    const h = await startHerald(t);
    const receiver = await h.receiver((req) => (req.nthForId === 1 ? { status: 503, body: 'busy' } : { status: 204 }));
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: receiver.url });
    await p.createUser();

    const [row] = await p.settled({ expected: 1 });
    expect(row!.status).toBe('succeeded');
    const view = await p.delivery(row!.id);
    expect(view).toMatchObject({
      status: 'succeeded',
      attemptCount: 2,
      lastStatusCode: 204,
      lastError: null,
      endpointId: endpoint.id,
    });
    expect(view.attempts.map((a) => [a.attemptNumber, a.statusCode, a.errorClass])).toEqual([
      [1, 503, 'http_status'],
      [2, 204, null],
    ]);
    expect(view.attempts[0]!.responseBody).toBe('busy');
    expect(Date.parse(view.attempts[1]!.startedAt)).toBeGreaterThanOrEqual(Date.parse(view.attempts[0]!.startedAt));

    const [first, second] = receiver.requests;
    expect(receiver.requests).toHaveLength(2);
    expect(first!.webhookId).toBe(view.eventId);
    expect(second!.webhookId).toBe(view.eventId);
    expect(second!.body).toBe(first!.body);
    expect(JSON.parse(first!.body).id).toBe(view.eventId);
  });

  it('keeps the webhook-id equal to the event id on every retry until the schedule is used up, then fails', async () => {
    const h = await startHerald(t);
    const receiver = await h.receiver(() => ({ status: 500 }));
    const p = await h.project();
    await p.createEndpoint({ url: receiver.url });
    await p.createUser();

    const [row] = await p.settled({ expected: 1 });
    // One immediate attempt plus one per delay of the schedule (3).
    expect(row).toMatchObject({ status: 'failed', attemptCount: 4, lastStatusCode: 500, nextAttemptAt: null });
    expect(row!.lastError).toMatch(/http_status/);
    expect(receiver.requests.map((r) => r.webhookId)).toEqual(Array(4).fill(row!.eventId));
    expect((await p.delivery(row!.id)).attempts.map((a) => a.attemptNumber)).toEqual([1, 2, 3, 4]);
    // Counted once the outcome's commit returns to the dispatcher, which can be after the row reads as failed.
    await waitFor(() => h.dispatcher.metrics.outcomeCount('failed') > 0, { message: 'the failed outcome counted' });
    expect(h.dispatcher.metrics.outcomeCount('retrying')).toBe(3);
    expect(h.dispatcher.metrics.outcomeCount('failed')).toBe(1);
  });

  it('records a receiver that never answers as a timeout', async () => {
    const h = await startHerald(t, {
      dispatcher: {
        requestTimeoutMs: 300,
        retryPolicy: { delaysMs: [], jitter: 0, minRetryAfterMs: 0, maxRetryAfterMs: 0 },
      },
    });
    const receiver = await h.receiver(() => 'hang');
    const p = await h.project();
    await p.createEndpoint({ url: receiver.url });
    await p.createUser();

    const [row] = await p.settled({ expected: 1 });
    expect(row).toMatchObject({ status: 'failed', attemptCount: 1, lastStatusCode: null });
    const [attempt] = (await p.delivery(row!.id)).attempts;
    expect(attempt).toMatchObject({ statusCode: null, errorClass: 'timeout', responseBody: null });
    expect(attempt!.durationMs).toBeGreaterThanOrEqual(250);
    expect(attempt!.durationMs).toBeLessThan(3_000);
    expect(receiver.requests).toHaveLength(1);
  });

  it('treats a 3xx as a failure and never requests its Location', async () => {
    const h = await startHerald(t);
    const elsewhere = await h.receiver();
    const redirecting = await h.receiver(() => ({ status: 307, headers: { location: `${elsewhere.url}/stolen` } }));
    const p = await h.project();
    await p.createEndpoint({ url: redirecting.url });
    await p.createUser();

    const [row] = await p.settled({ expected: 1 });
    expect(row).toMatchObject({ status: 'failed', attemptCount: 4, lastStatusCode: 307 });
    const attempts = (await p.delivery(row!.id)).attempts;
    expect(attempts.every((a) => a.statusCode === 307 && a.errorClass === 'http_status')).toBe(true);
    expect(redirecting.requests).toHaveLength(4);
    expect(elsewhere.requests).toHaveLength(0);
    expect(elsewhere.connections).toBe(0);
  });

  it('a 410 whose answer breaks off is not taken at its word: retried as a connection failure, the endpoint stays enabled', async () => {
    const h = await startHerald(t);
    const broken = createNetServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => {
        socket.write('HTTP/1.1 410 Gone\r\ncontent-length: 100\r\n\r\npart');
        setTimeout(() => socket.destroy(), 20);
      });
    });
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => broken.close(() => resolve())));
    const p = await h.project();
    const url = `http://127.0.0.1:${(broken.address() as AddressInfo).port}/`;
    const { endpoint } = await p.createEndpoint({ url, eventTypes: ['user.created'] });
    await p.createUser();
    const [row] = await p.settled({ expected: 1, timeoutMs: 10_000 });
    // Every try of the schedule was made (1 + 3 retries), none disabled the endpoint.
    expect(row).toMatchObject({ status: 'failed', attemptCount: 4, lastStatusCode: null });
    const attempts = await p.attemptRows(row!.id);
    expect(attempts.map((a) => [a.statusCode, a.errorClass])).toEqual(Array(4).fill([null, 'connection']));
    expect(attempts[0]!.errorMessage).toMatch(/\(after HTTP 410\)$/);
    expect(await p.call(`/v1/endpoints/${endpoint.id}`, 200)).toMatchObject({ disabled: false });
  });

  it('disables an endpoint that answers 410 and records an endpoint.disabled event', async () => {
    const h = await startHerald(t);
    const gone = await h.receiver(() => ({ status: 410, body: 'gone' }));
    const watcher = await h.receiver();
    const p = await h.project();
    // A path and query that carry the receiver's credentials, as Slack-style URLs do.
    const goneUrl = `${gone.url}/hooks/T0001/B0002?token=url-secret`;
    const { endpoint } = await p.createEndpoint({ url: goneUrl, eventTypes: ['user.created'] });
    const watching = await p.createEndpoint({ url: watcher.url, eventTypes: ['endpoint.disabled'] });

    await p.createUser();
    // user.created to the 410 endpoint, then endpoint.disabled to the watcher.
    const rows = await p.settled({ expected: 2, timeoutMs: 10_000 });
    const first = rows.find((r) => r.endpointId === endpoint.id)!;
    expect(first).toMatchObject({ status: 'failed', attemptCount: 1, lastStatusCode: 410 });
    expect(gone.requests).toHaveLength(1);

    expect(await p.call(`/v1/endpoints/${endpoint.id}`, 200)).toMatchObject({ disabled: true, disabledReason: 'gone' });
    const [disabledEvent] = await p.events('endpoint.disabled');
    // Only the origin goes to the project's other endpoints.
    expect(disabledEvent!.data).toMatchObject({
      endpointId: endpoint.id,
      url: new URL(gone.url).origin,
      reason: 'gone',
    });
    const [notice] = await watcher.waitForRequests(1);
    expect(notice!.body).not.toContain('url-secret');
    expect(notice!.body).not.toContain('T0001');
    expect(JSON.parse(notice!.body)).toMatchObject({
      id: disabledEvent!.id,
      type: 'endpoint.disabled',
      data: { endpointId: endpoint.id },
    });
    expect(rows.find((r) => r.endpointId === watching.endpoint.id)!.status).toBe('succeeded');

    // A disabled endpoint gets no new deliveries, and recovery is refused until it is enabled.
    await p.createUser();
    await sleep(100);
    await h.dispatcher.idle();
    expect(gone.requests).toHaveLength(1);
    expect(await p.deliveriesOf(endpoint.id)).toHaveLength(1);
    const since = new Date(Date.now() - 60_000).toISOString();
    expect((await p.request(`/v1/endpoints/${endpoint.id}/recover`, { json: { since } })).status).toBe(409);
    expect((await p.request(`/v1/endpoints/${endpoint.id}/test`, { json: { eventType: 'user.created' } })).status).toBe(
      409,
    );

    // Back from the dead: enabled again, its failed delivery can be recovered.
    gone.respond(() => ({ status: 200 }));
    expect(
      await p.call(`/v1/endpoints/${endpoint.id}`, 200, { method: 'PATCH', json: { disabled: false } }),
    ).toMatchObject({ disabled: false, disabledReason: null });
    // The failed delivery comes back, and the user created while it was disabled is delivered too.
    expect(await p.call(`/v1/endpoints/${endpoint.id}/recover`, 202, { json: { since } })).toEqual({
      requeued: 1,
      missed: 1,
      more: false,
    });
    await waitFor(async () => {
      const list = await p.deliveriesOf(endpoint.id);
      return list.length === 2 && list.every((d) => d.status === 'succeeded');
    });
    const ids = gone.requests.map((r) => r.webhookId);
    expect(ids.filter((id) => id === first.eventId)).toHaveLength(2);
    expect(ids).toHaveLength(3);
    expect(await p.call(`/v1/endpoints/${endpoint.id}`, 200)).toMatchObject({ disabled: false });
  });

  it('disables an endpoint that keeps failing for longer than the failure window (reason failing); a success resets the window', async () => {
    const h = await startHerald(t, {
      dispatcher: {
        failureWindowMs: 400,
        retryPolicy: {
          delaysMs: [100, 100, 100, 100, 100, 100, 100, 100],
          jitter: 0,
          minRetryAfterMs: 0,
          maxRetryAfterMs: 0,
        },
      },
    });
    let healthy = true;
    const receiver = await h.receiver(() => (healthy ? { status: 200 } : { status: 500 }));
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: receiver.url, eventTypes: ['user.created'] });
    const endpointRow = async () =>
      (await p.call(`/v1/endpoints/${endpoint.id}`, 200)) as { disabled: boolean; disabledReason: string | null };

    await p.createUser();
    await p.settled({ expected: 1 });
    expect(await endpointRow()).toMatchObject({ disabled: false });

    healthy = false;
    await p.createUser();
    const rows = await waitFor(async () => {
      const r = await p.deliveryRows();
      return r.length === 2 && r[1]!.status === 'failed' ? r : null;
    });
    const failedAttempts = await p.attemptRows(rows[1]!.id);
    // Not on the first failure: only once the failures had lasted longer than the window.
    expect(failedAttempts.length).toBeGreaterThan(1);
    const firstFailure = failedAttempts[0]!.startedAt.getTime();
    const last = failedAttempts.at(-1)!;
    expect(last.startedAt.getTime() - firstFailure).toBeGreaterThanOrEqual(300);
    expect(await endpointRow()).toMatchObject({ disabled: true, disabledReason: 'failing' });
    const [disabled] = await p.events('endpoint.disabled');
    expect(disabled!.data).toMatchObject({ endpointId: endpoint.id, reason: 'failing' });

    // Re-enabled, it starts a fresh window: a success keeps it enabled.
    healthy = true;
    await p.call(`/v1/endpoints/${endpoint.id}`, 200, { method: 'PATCH', json: { disabled: false } });
    await p.createUser();
    await waitFor(async () => (await p.deliveryRows()).at(-1)?.status === 'succeeded');
    expect(await endpointRow()).toMatchObject({ disabled: false, disabledReason: null });
  });

  it('fails, without an attempt, a queued delivery whose endpoint was disabled meanwhile', async () => {
    const h = await startHerald(t, { start: false });
    const receiver = await h.receiver();
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: receiver.url });
    await p.createUser();
    await p.call(`/v1/endpoints/${endpoint.id}`, 200, { method: 'PATCH', json: { disabled: true } });
    await h.dispatcher.start();
    const [row] = await p.settled({ expected: 1 });
    expect(row).toMatchObject({ status: 'failed', attemptCount: 0, lastError: 'endpoint_disabled' });
    expect(receiver.requests).toHaveLength(0);
    // The row is visible once its commit is; the dispatcher counts the outcome just after.
    await h.dispatcher.idle();
    expect(h.dispatcher.metrics.outcomeCount('endpoint_disabled')).toBe(1);
  });

  it('honours Retry-After on a 429: the next attempt comes no sooner than it asks', async () => {
    const h = await startHerald(t, {
      dispatcher: { retryPolicy: { delaysMs: [50, 50], jitter: 0, minRetryAfterMs: 100, maxRetryAfterMs: 10_000 } },
    });
    const receiver = await h.receiver((req) =>
      req.nthForId === 1 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 },
    );
    const p = await h.project();
    await p.createEndpoint({ url: receiver.url });
    await p.createUser();

    const [first, second] = await receiver.waitForRequests(2, 8_000);
    const gap = second!.at - first!.at;
    expect(gap).toBeGreaterThanOrEqual(1_900);
    expect(gap).toBeLessThan(4_000);
    const [row] = await p.settled({ expected: 1 });
    const attempts = (await p.delivery(row!.id)).attempts;
    expect(attempts.map((a) => a.statusCode)).toEqual([429, 200]);
  });

  it.each([502, 503, 504])('honours Retry-After on a %d too', async (status) => {
    const h = await startHerald(t, {
      dispatcher: { retryPolicy: { delaysMs: [50, 50], jitter: 0, minRetryAfterMs: 100, maxRetryAfterMs: 10_000 } },
    });
    const receiver = await h.receiver((req) =>
      req.nthForId === 1 ? { status, headers: { 'retry-after': '1' } } : { status: 200 },
    );
    const p = await h.project();
    await p.createEndpoint({ url: receiver.url });
    await p.createUser();
    const [first, second] = await receiver.waitForRequests(2, 8_000);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(900);
  });

  it('clamps Retry-After to maxRetryAfterMs', async () => {
    const h = await startHerald(t, {
      dispatcher: { retryPolicy: { delaysMs: [50, 50], jitter: 0, minRetryAfterMs: 50, maxRetryAfterMs: 300 } },
    });
    const receiver = await h.receiver((req) =>
      req.nthForId === 1 ? { status: 429, headers: { 'retry-after': '3600' } } : { status: 200 },
    );
    const p = await h.project();
    await p.createEndpoint({ url: receiver.url });
    await p.createUser();
    const [first, second] = await receiver.waitForRequests(2, 5_000);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(250);
    expect(second!.at - first!.at).toBeLessThan(2_500);
  });

  it('ignores Retry-After on a plain 500 and uses the schedule', async () => {
    const h = await startHerald(t);
    const receiver = await h.receiver((req) =>
      req.nthForId === 1 ? { status: 500, headers: { 'retry-after': '30' } } : { status: 200 },
    );
    const p = await h.project();
    await p.createEndpoint({ url: receiver.url });
    await p.createUser();
    const [first, second] = await receiver.waitForRequests(2, 5_000);
    expect(second!.at - first!.at).toBeLessThan(2_000);
  });

  it('recovers deliveries that failed for good: POST /v1/endpoints/{id}/recover { since } delivers them', async () => {
    const h = await startHerald(t);
    let healthy = false;
    const receiver = await h.receiver(() => (healthy ? { status: 200 } : { status: 502 }));
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: receiver.url });
    const since = new Date(Date.now() - 1_000).toISOString();
    await p.createUser();
    await p.createUser();
    const failed = await p.settled({ expected: 2 });
    expect(failed.map((r) => [r.status, r.attemptCount])).toEqual([
      ['failed', 4],
      ['failed', 4],
    ]);
    expect(await p.deliveriesOf(endpoint.id)).toEqual([
      expect.objectContaining({ status: 'failed' }),
      expect.objectContaining({ status: 'failed' }),
    ]);

    // Only deliveries created at or after `since` come back.
    const future = new Date(Date.now() + 60_000).toISOString();
    expect(await p.call(`/v1/endpoints/${endpoint.id}/recover`, 202, { json: { since: future } })).toEqual({
      requeued: 0,
      missed: 0,
      more: false,
    });

    healthy = true;
    const before = receiver.requests.length;
    expect(await p.call(`/v1/endpoints/${endpoint.id}/recover`, 202, { json: { since } })).toEqual({
      requeued: 2,
      missed: 0,
      more: false,
    });
    const recovered = await waitFor(async () => {
      const rows = await p.deliveryRows();
      return rows.every((r) => r.status === 'succeeded') ? rows : null;
    });
    expect(recovered.map((r) => r.attemptCount)).toEqual([5, 5]);
    expect(receiver.requests.length - before).toBe(2);
    const view = await p.delivery(recovered[0]!.id);
    expect(view.attempts.map((a) => a.statusCode)).toEqual([502, 502, 502, 502, 200]);
    // Recovery restarts the schedule: the retries were the same event each time.
    expect(new Set(receiver.requests.map((r) => r.webhookId)).size).toBe(2);
  });

  it('survives an endpoint deleted while its delivery is in flight', async () => {
    const h = await startHerald(t);
    const receiver = await h.receiver(() => ({ status: 200, delayMs: 400 }));
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: receiver.url });
    const other = await h.receiver();
    await p.createEndpoint({ url: other.url });
    await p.createUser();
    await receiver.waitForRequests(1);
    expect(await p.call(`/v1/endpoints/${endpoint.id}`, 200, { method: 'DELETE' })).toEqual({
      id: endpoint.id,
      deleted: true,
    });
    await sleep(600);
    await h.dispatcher.idle();
    // The deleted endpoint's delivery went with it; the dispatcher carries on with the rest.
    const rows = await p.deliveryRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'succeeded' });
    await p.createUser();
    await other.waitForRequests(2);
    expect(receiver.requests).toHaveLength(1);
  });

  it('deleting an endpoint removes its deliveries and their attempts, and no other endpoint’s', async () => {
    const h = await startHerald(t);
    const p = await h.project();
    const doomed = await h.receiver();
    const kept = await h.receiver();
    const { endpoint } = await p.createEndpoint({ url: doomed.url });
    await p.createEndpoint({ url: kept.url });
    await p.createUser();
    const before = await waitFor(async () => {
      const rows = await p.deliveryRows();
      return rows.length === 2 && rows.every((r) => r.status === 'succeeded') ? rows : null;
    });
    const attemptsOf = async (endpointId: string) =>
      (await Promise.all(before.filter((d) => d.endpointId === endpointId).map((d) => p.attemptRows(d.id)))).flat();
    expect(await attemptsOf(endpoint.id)).toHaveLength(1);
    await p.call(`/v1/endpoints/${endpoint.id}`, 200, { method: 'DELETE' });
    expect(await attemptsOf(endpoint.id)).toEqual([]);
    expect((await p.deliveryRows()).map((r) => r.endpointId)).not.toContain(endpoint.id);
    const keptEndpoint = before.find((d) => d.endpointId !== endpoint.id)!.endpointId;
    expect(await attemptsOf(keptEndpoint)).toHaveLength(1);
  });

  it('retries a single failed delivery on demand (POST /v1/deliveries/{id}/retry)', async () => {
    const h = await startHerald(t, {
      dispatcher: { retryPolicy: { delaysMs: [], jitter: 0, minRetryAfterMs: 0, maxRetryAfterMs: 0 } },
    });
    let healthy = false;
    const receiver = await h.receiver(() => (healthy ? { status: 200 } : { status: 500 }));
    const p = await h.project();
    await p.createEndpoint({ url: receiver.url });
    await p.createUser();
    const [row] = await p.settled({ expected: 1 });
    expect(row).toMatchObject({ status: 'failed', attemptCount: 1 });
    healthy = true;
    expect(await p.call(`/v1/deliveries/${row!.id}/retry`, 202, { json: {} })).toMatchObject({
      id: row!.id,
      status: 'pending',
    });
    await waitFor(async () => (await p.deliveryRows())[0]?.status === 'succeeded');
    expect((await p.delivery(row!.id)).attempts.map((a) => a.statusCode)).toEqual([500, 200]);
  });
});
