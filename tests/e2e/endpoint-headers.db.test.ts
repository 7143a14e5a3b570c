import { endpointSecrets, endpoints, newId } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { expect, it } from 'vitest';
import { startHerald } from './harness';

const once = { retryPolicy: { delaysMs: [], jitter: 0, minRetryAfterMs: 0, maxRetryAfterMs: 0 } };

describeDb('endpoint custom headers: one rule for the API and the sender', (t) => {
  it('delivers every header value the API accepts, as the receiver reads it', async () => {
    const h = await startHerald(t, { dispatcher: once });
    const receiver = await h.receiver();
    const p = await h.project();
    const headers = {
      'X-Name': 'Zoë',
      'X-Latin1': 'café ñ ü ÿ © ½',
      'X-Tab': 'a\tb',
      'X-Visible': '!"#$%&\'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~',
      'X-Empty': '',
    };
    const { endpoint } = await p.createEndpoint({ url: receiver.url, headers });
    expect(endpoint.headers).toEqual(headers);

    await p.createUser();
    const [row] = await p.settled({ expected: 1 });
    expect(row).toMatchObject({ status: 'succeeded' });
    const [req] = await receiver.waitForRequests(1);
    for (const [name, value] of Object.entries(headers)) {
      expect({ name, value: req!.headers[name.toLowerCase()] }).toEqual({ name, value });
    }
  });

  it('refuses, with 400 validation_error, header values the sender cannot send, on create and update', async () => {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    const { endpoint } = await p.createEndpoint({ url: 'https://hooks.example.com/h' });
    const unsendable = [
      // A decomposed 'Zoë' (e + U+0308): the old API rule took it, the sender refused it at every attempt.
      'Zoe\u0308',
      'Łukasz',
      '日本語',
      '😀',
      '\u2028',
      'a\u007fb',
      'a\u0001b',
      'a\u000bb',
      'a\u0000b',
      'a\r\nX-Injected: 1',
      '\ud800',
    ];
    for (const value of unsendable) {
      for (const [path, method] of [
        ['/v1/endpoints', 'POST'],
        [`/v1/endpoints/${endpoint.id}`, 'PATCH'],
      ] as const) {
        const response = await p.request(path, {
          method,
          json: { url: 'https://hooks.example.com/h', headers: { 'X-Name': value } },
        });
        const body = (await response.json()) as {
          error: { code: string; details?: { path: string; message: string }[] };
        };
        expect({ value, method, status: response.status, code: body.error.code }).toEqual({
          value,
          method,
          status: 400,
          code: 'validation_error',
        });
        expect(JSON.stringify(body.error.details), JSON.stringify(value)).toMatch(/X-Name/);
      }
    }
    // Nothing was stored or changed.
    expect((await p.call('/v1/endpoints', 200, { method: 'GET' })).data).toHaveLength(1);
    expect(await p.call(`/v1/endpoints/${endpoint.id}`, 200)).toMatchObject({ headers: {} });
  });

  it('still lists an endpoint stored with headers the rule now refuses, and says why its attempts fail', async () => {
    const h = await startHerald(t, { dispatcher: once });
    const receiver = await h.receiver();
    const p = await h.project();
    // Stored before the rule, when the API took anything without CR, LF or NUL.
    const legacy = { 'X-Name': 'Zoe\u0308', 'X-Ok': 'fine' };
    const [stored] = await t.db
      .insert(endpoints)
      .values({ id: newId('endpoint'), projectId: p.id, url: receiver.url, headers: legacy })
      .returning();
    await t.db.insert(endpointSecrets).values({
      id: newId('endpointSecret'),
      endpointId: stored!.id,
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    });
    const listed = await p.call('/v1/endpoints', 200, { method: 'GET' });
    expect(listed.data).toEqual([expect.objectContaining({ id: stored!.id, headers: legacy })]);
    expect(await p.call(`/v1/endpoints/${stored!.id}`, 200)).toMatchObject({ headers: legacy });

    await p.createUser();
    const [row] = await p.settled({ expected: 1 });
    const [attempt] = (await p.delivery(row!.id)).attempts;
    expect(attempt).toMatchObject({ errorClass: 'connection', statusCode: null });
    expect(attempt!.errorMessage).toMatch(/^invalid request header "X-Name": .*U\+00FF.*; not sent$/);
    expect(receiver.connections).toBe(0);
  });
});
