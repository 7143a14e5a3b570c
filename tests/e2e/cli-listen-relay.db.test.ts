import { createPlatform } from '@herald/api';
import { describeDb } from '@herald/db/testing';
import { Webhook } from 'standardwebhooks';
import { expect, it } from 'vitest';
import { ADMIN_TOKEN, type Project, startHerald, waitFor } from './harness';
import { sseReader } from './sse-reader';

/**
 * The API side of `herald listen`, in process on both drivers: a listen endpoint's deliveries are
 * never sent by the dispatcher; the stream (`GET /v1/endpoints/{id}/listen`) hands them out signed,
 * and the outcomes reported back (`POST …/listen/attempts`) drive retries and the attempt log.
 * The CLI as a real process against a separate API and dispatcher: cli-listen.db.test.ts.
 */

async function report(
  p: Project,
  endpointId: string,
  session: string,
  deliveryId: string,
  statusCode: number,
  errorClass: string | null = statusCode < 300 ? null : 'http_status',
) {
  return p.request(`/v1/endpoints/${endpointId}/listen/attempts`, {
    json: {
      session,
      deliveryId,
      statusCode,
      durationMs: 3,
      errorClass,
      errorMessage: null,
      responseBody: 'local',
    },
  });
}

/** A listen stream opened on `path` (its `session` event not read yet); `close` ends it. */
async function openStream(p: Project, path: string) {
  const abort = new AbortController();
  const stream = sseReader(await p.request(path, { signal: abort.signal }));
  return {
    stream,
    close: async () => {
      abort.abort();
      await stream.cancel();
    },
  };
}

describeDb('herald listen: the relay in the API', (t) => {
  it('streams a listen endpoint’s deliveries signed, records reported outcomes, retries a 500 and a 200 that broke off; the dispatcher never sends them', async () => {
    const h = await startHerald(t);
    // The forward-to URL is reachable: were the dispatcher to claim these deliveries, it would post here.
    const local = await h.receiver();
    const p = await h.project();
    const created = await p.call('/v1/endpoints/listen', 201, { json: { forwardTo: `${local.url}/webhooks` } });
    expect(created.endpoint).toMatchObject({ kind: 'listen', url: `${local.url}/webhooks` });
    const endpointId: string = created.endpoint.id;

    const abort = new AbortController();
    const response = await p.request(`/v1/endpoints/${endpointId}/listen`, { signal: abort.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const stream = sseReader(response);
    const hello = await stream.next();
    expect(hello).toMatchObject({ event: 'session', data: { endpointId } });
    const session: string = hello.data.session;

    const users = [await p.createUser(), await p.createUser(), await p.createUser()];
    const verifier = new Webhook(created.secret);
    const seen: { deliveryId: string; eventType: string; attempt: number }[] = [];
    let failedOnce: string | null = null;
    while (seen.filter((s) => s.attempt === 1).length < users.length || seen.length < users.length + 2) {
      const { event, data } = await stream.next();
      expect(event).toBe('delivery');
      // Signed with the endpoint's secret, exactly the bytes a dispatcher would send.
      expect(verifier.verify(data.body, data.headers)).toMatchObject({ type: data.eventType });
      seen.push({ deliveryId: data.deliveryId, eventType: data.eventType, attempt: data.attempt });
      failedOnce ??= data.deliveryId;
      // The first delivery: a 500, then a 200 whose answer broke off (a failure whatever its status), then a 200.
      const [status, errorClass] =
        data.deliveryId !== failedOnce || data.attempt === 3
          ? [200, null]
          : data.attempt === 1
            ? [500, 'http_status']
            : [200, 'connection'];
      const answer = await report(p, endpointId, session, data.deliveryId, status, errorClass);
      expect(await answer.json()).toEqual({
        deliveryId: data.deliveryId,
        outcome: errorClass === null ? 'succeeded' : 'retrying',
      });
    }
    // The delivery answered 500, then 200 broken off, came back as its third attempt and succeeded.
    expect(seen.filter((s) => s.deliveryId === failedOnce).map((s) => s.attempt)).toEqual([1, 2, 3]);
    const failed = await p.delivery(failedOnce!);
    expect(failed).toMatchObject({ status: 'succeeded', attemptCount: 3 });
    expect(failed.attempts.map((a) => [a.statusCode, a.errorClass])).toEqual([
      [500, 'http_status'],
      [null, 'connection'],
      [200, null],
    ]);
    const rows = await waitFor(async () => {
      const all = await p.deliveryRows();
      return all.length === 3 && all.every((r) => r.status === 'succeeded') ? all : null;
    });
    expect(rows.map((r) => r.endpointId)).toEqual([endpointId, endpointId, endpointId]);
    // A report for a lease this stream does not hold: 409, nothing recorded.
    const stale = await report(p, endpointId, session, failedOnce!, 200);
    expect(stale.status).toBe(409);
    expect(local.connections).toBe(0);

    // The stream's end gives its leases back: an unreported delivery is due again at once.
    await p.createUser();
    const unreported = await stream.next();
    abort.abort();
    await stream.cancel();
    const row = await waitFor(async () => {
      const [r] = (await p.deliveryRows()).filter((d) => d.id === unreported.data.deliveryId);
      return r?.status === 'pending' && r.leaseOwner === null ? r : null;
    });
    expect(row.attemptCount).toBe(0);
    expect(local.connections).toBe(0);
  });

  it('answers 401 without a key, 404 for another project’s endpoint, 409 for an http endpoint, 400 for bad input', async () => {
    const h = await startHerald(t, { start: false });
    const mine = await h.project();
    const theirs = await h.project();
    const { endpoint } = await theirs.call('/v1/endpoints/listen', 201, {
      json: { forwardTo: 'http://localhost:3000/hooks' },
    });
    const http = await mine.createEndpoint({ url: 'https://hooks.example.com/h' });
    const codeOf = async (r: Response | Promise<Response>) => {
      const res = await r;
      return { status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code };
    };

    expect(await codeOf(h.app.request(`/v1/endpoints/${endpoint.id}/listen`))).toEqual({
      status: 401,
      code: 'unauthorized',
    });
    expect(await codeOf(mine.request(`/v1/endpoints/${endpoint.id}/listen`))).toEqual({
      status: 404,
      code: 'not_found',
    });
    expect(await codeOf(mine.request(`/v1/endpoints/${endpoint.id}/listen/attempts`, { json: {} }))).toEqual({
      status: 404,
      code: 'not_found',
    });
    expect(await codeOf(mine.request(`/v1/endpoints/${http.endpoint.id}/listen`))).toEqual({
      status: 409,
      code: 'conflict',
    });
    const invalid = await theirs.request(`/v1/endpoints/${endpoint.id}/listen/attempts`, {
      json: { session: 'x', deliveryId: 'dlv_x', statusCode: 'teapot' },
    });
    expect(invalid.status).toBe(400);
    // Bytes PostgreSQL refuses never reach it: a NUL in the path's id or in the report's ids.
    for (const path of ['/v1/endpoints/%00/listen', `/v1/endpoints/ep_%00${endpoint.id.slice(4)}/listen`]) {
      expect(await codeOf(theirs.request(path))).toEqual({ status: 404, code: 'not_found' });
    }
    expect(await codeOf(theirs.request('/v1/endpoints/%00/listen/attempts', { json: {} }))).toEqual({
      status: 404,
      code: 'not_found',
    });
    const report = { statusCode: 200, durationMs: 1, errorClass: null, errorMessage: null, responseBody: null };
    for (const ids of [
      { session: '\u0000', deliveryId: 'dlv_x' },
      { session: `listen_${'0'.repeat(24)}`, deliveryId: '\u0000' },
    ]) {
      const answer = theirs.request(`/v1/endpoints/${endpoint.id}/listen/attempts`, { json: { ...report, ...ids } });
      expect(await codeOf(answer)).toEqual({ status: 400, code: 'validation_error' });
    }
    expect(await codeOf(theirs.request('/v1/endpoints/listen', { json: { forwardTo: 'ftp://localhost/x' } }))).toEqual({
      status: 400,
      code: 'validation_error',
    });
  });
  it('refuses FIFO ordering, a rate limit or an in-flight cap on a listen endpoint, which the relay would not apply', async () => {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    const { endpoint } = await p.call('/v1/endpoints/listen', 201, {
      json: { forwardTo: 'http://localhost:3000/hooks' },
    });
    for (const json of [{ ordering: 'fifo' }, { rateLimit: 5 }, { maxInFlight: 2 }]) {
      const response = await p.request(`/v1/endpoints/${endpoint.id}`, { method: 'PATCH', json });
      expect({ json, status: response.status }).toEqual({ json, status: 400 });
      expect(await response.text()).toContain('herald listen');
    }
    // Saying what it already is, and other changes, are fine.
    const same = { ordering: 'none', rateLimit: null, maxInFlight: null, description: 'mine' };
    expect(await p.call(`/v1/endpoints/${endpoint.id}`, 200, { method: 'PATCH', json: same })).toMatchObject({
      ordering: 'none',
      rateLimit: null,
      description: 'mine',
    });
  });

  it('ends open streams when the API shuts down, so its server closes instead of waiting for them', async () => {
    const platform = await createPlatform({
      database: { herald: t.herald },
      api: { adminToken: ADMIN_TOKEN },
      dispatcher: false,
    });
    const server = await platform.listen();
    const post = async (path: string, key: string, json: unknown) =>
      (await fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(json),
      }).then((r) => r.json())) as any;
    const { apiKey } = await post('/v1/projects', ADMIN_TOKEN, { name: 'shutdown' });
    const { endpoint } = await post('/v1/endpoints/listen', apiKey.key, { forwardTo: 'http://localhost:4000/h' });
    const response = await fetch(`${server.url}/v1/endpoints/${endpoint.id}/listen`, {
      headers: { authorization: `Bearer ${apiKey.key}` },
    });
    const stream = sseReader(response);
    expect((await stream.next()).event).toBe('session');
    await platform.close();
    await expect(stream.next()).rejects.toThrow('stream ended');
  });

  it('ends a stream once the API key that opened it is revoked; its deliveries go to the next stream', async () => {
    const h = await startHerald(t);
    const p = await h.project();
    const created = await p.call('/v1/endpoints/listen', 201, { json: { forwardTo: 'http://localhost:4000/h' } });
    const endpointId: string = created.endpoint.id;
    const doomed = await p.call<{ id: string; key: string }>('/v1/api-keys', 201, { json: { name: 'leaked' } });
    const abort = new AbortController();
    const response = await h.app.request(`/v1/endpoints/${endpointId}/listen`, {
      headers: { authorization: `Bearer ${doomed.key}` },
      signal: abort.signal,
    });
    expect(response.status).toBe(200);
    const stream = sseReader(response);
    expect((await stream.next()).event).toBe('session');
    try {
      await p.call(`/v1/api-keys/${doomed.id}`, 200, { method: 'DELETE' });
      // An event after the revocation never reaches the revoked key's stream.
      await p.createUser();
      const ended = await stream.next();
      expect(ended).toEqual({ event: 'error', data: { message: 'the API key was revoked' } });
      await expect(stream.next()).rejects.toThrow('stream ended');
    } finally {
      abort.abort();
      await stream.cancel();
    }
    // The project's own key opens a new stream, which gets the delivery at once (its lease was given back).
    const freshAbort = new AbortController();
    const fresh = sseReader(await p.request(`/v1/endpoints/${endpointId}/listen`, { signal: freshAbort.signal }));
    try {
      expect((await fresh.next()).event).toBe('session');
      expect((await fresh.next()).event).toBe('delivery');
    } finally {
      freshAbort.abort();
      await fresh.cancel();
    }
  });

  it('keeps no custom header value and no signature in a reported answer that echoes them', async () => {
    const h = await startHerald(t);
    const p = await h.project();
    const created = await p.call('/v1/endpoints/listen', 201, { json: { forwardTo: 'http://localhost:4000/h' } });
    const endpointId: string = created.endpoint.id;
    const token = 'Bearer local-receiver-token-5f2b9c7e1a';
    await p.call(`/v1/endpoints/${endpointId}`, 200, { method: 'PATCH', json: { headers: { authorization: token } } });
    const { stream, close } = await openStream(p, `/v1/endpoints/${endpointId}/listen`);
    try {
      const session: string = (await stream.next()).data.session;
      await p.createUser();
      const { data } = await stream.next();
      expect(data.headers.authorization).toBe(token);
      // A local echo server, its answer passed on by the CLI as it came (JSON escapes the signature's `/`).
      const echoed = JSON.stringify({ received: data.headers }).replaceAll('/', '\\/');
      const answer = await p.request(`/v1/endpoints/${endpointId}/listen/attempts`, {
        json: {
          session,
          deliveryId: data.deliveryId,
          statusCode: 500,
          durationMs: 2,
          errorClass: 'http_status',
          errorMessage: `local said ${token}`,
          responseBody: echoed,
        },
      });
      expect(answer.status).toBe(200);
      const [attempt] = (await p.delivery(data.deliveryId)).attempts;
      const signatures = String(data.headers['webhook-signature']).split(' ');
      for (const secret of ['local-receiver-token-5f2b9c7e1a', ...signatures.map((s) => s.slice(3, 20))]) {
        expect(attempt!.responseBody).not.toContain(secret);
        expect(attempt!.errorMessage ?? '').not.toContain(secret);
      }
      expect(attempt!.responseBody).toContain('[redacted]');
      expect(attempt!.responseBody).toContain(data.headers['webhook-id']);
    } finally {
      await close();
    }
  });

  it("a local 410 fails its delivery but never disables the development endpoint: the session's end removes it", async () => {
    const h = await startHerald(t, { dispatcher: { failureWindowMs: 0 } });
    const p = await h.project();
    const created = await p.call('/v1/endpoints/listen', 201, { json: { forwardTo: 'http://localhost:4000/h' } });
    const endpointId: string = created.endpoint.id;
    const { stream, close } = await openStream(p, `/v1/endpoints/${endpointId}/listen`);
    try {
      const session: string = (await stream.next()).data.session;
      await p.createUser();
      const first = (await stream.next()).data;
      expect(await (await report(p, endpointId, session, first.deliveryId, 410)).json()).toMatchObject({
        outcome: 'failed',
      });
      expect(await p.call(`/v1/endpoints/${endpointId}`, 200)).toMatchObject({ disabled: false });
      // The next event still goes down the stream, and a 500 (a failure window of 0) disables nothing either.
      await p.createUser();
      const second = (await stream.next()).data;
      await report(p, endpointId, session, second.deliveryId, 500);
      expect(await p.call(`/v1/endpoints/${endpointId}`, 200)).toMatchObject({ disabled: false });
    } finally {
      await close();
    }
  });

  it('refuses HEAD on the stream (405, Allow: GET): a stream nobody reads held its place for good', async () => {
    const h = await startHerald(t);
    const p = await h.project();
    const created = await p.call('/v1/endpoints/listen', 201, { json: { forwardTo: 'http://localhost:4000/h' } });
    const path = `/v1/endpoints/${created.endpoint.id}/listen`;
    for (let i = 0; i < 8; i++) {
      const head = await p.request(path, { method: 'HEAD', signal: AbortSignal.timeout(5_000) });
      expect(head.status).toBe(405);
      expect(head.headers.get('allow')).toBe('GET');
    }
    const put = await p.request(path, { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET');
    // Every place is still free: four streams open.
    const open: Awaited<ReturnType<typeof openStream>>[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        open.push(await openStream(p, path));
        expect((await open.at(-1)!.stream.next()).event).toBe('session');
      }
    } finally {
      for (const { close } of open) await close();
    }
  });

  it('opens at most 4 streams of one endpoint at once (429 with Retry-After), and another once one ends', async () => {
    const h = await startHerald(t);
    const p = await h.project();
    const created = await p.call('/v1/endpoints/listen', 201, { json: { forwardTo: 'http://localhost:4000/h' } });
    const path = `/v1/endpoints/${created.endpoint.id}/listen`;
    const open: Awaited<ReturnType<typeof openStream>>[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        open.push(await openStream(p, path));
        expect((await open.at(-1)!.stream.next()).event).toBe('session');
      }
      const refused = await p.request(path);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(((await refused.json()) as any).error.code).toBe('rate_limited');
      await open.shift()!.close();
      await waitFor(async () => {
        const again = await p.request(path, { signal: AbortSignal.timeout(2_000) });
        if (again.status !== 200) return false;
        await again.body?.cancel();
        return true;
      });
    } finally {
      for (const { close } of open) await close();
    }
  });
});
