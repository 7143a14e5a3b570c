import { endpointSecrets, newId, SEALED_PREFIX, secretBox } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { runMaintenance } from '@herald/delivery';
import { eq } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { expect, it } from 'vitest';
import { sleep, startHerald, waitFor, webhookHeaders } from './harness';
import { sseReader } from './sse-reader';

const KEY = 'sealing-key-for-tests-0123456789abcdef';
const OLD_KEY = 'previous-key-for-tests-0123456789abcdef';
const OTHER_KEY = 'some-other-key-for-tests-0123456789abcdef';
const maintenance = { retentionMs: 30 * 86_400_000, partitionsAheadDays: 3 };

describeDb('endpoint signing secrets sealed at rest (HERALD_SECRET_KEY)', (t) => {
  const storedSecrets = (endpointId: string) =>
    t.db
      .select({ id: endpointSecrets.id, secret: endpointSecrets.secret })
      .from(endpointSecrets)
      .where(eq(endpointSecrets.endpointId, endpointId))
      .orderBy(endpointSecrets.id);

  it('stores secrets sealed, shows and signs with them in clear, rotation included', async () => {
    const h = await startHerald(t, { api: { secretKey: KEY } });
    const receiver = await h.receiver();
    const p = await h.project();
    const { endpoint, secret } = await p.createEndpoint({ url: receiver.url });

    const [row] = await storedSecrets(endpoint.id);
    expect(row!.secret.startsWith(SEALED_PREFIX)).toBe(true);
    expect(row!.secret).not.toContain(secret.slice('whsec_'.length));
    expect(await p.call(`/v1/endpoints/${endpoint.id}/secret`, 200)).toEqual({ secret });

    await p.createUser();
    const [first] = await receiver.waitForRequests(1);
    expect(() => new Webhook(secret).verify(first!.body, webhookHeaders(first!))).not.toThrow();

    const rotated = await p.call(`/v1/endpoints/${endpoint.id}/rotate-secret`, 200, { json: { graceSeconds: 3600 } });
    const rows = await storedSecrets(endpoint.id);
    expect(rows).toHaveLength(2);
    for (const r of rows) expect(r.secret.startsWith(SEALED_PREFIX)).toBe(true);
    expect(await p.call(`/v1/endpoints/${endpoint.id}/secret`, 200)).toEqual({ secret: rotated.secret });

    await p.createUser();
    const [, second] = await receiver.waitForRequests(2);
    // Signed with both during the grace period: a receiver holding either verifies.
    expect(String(second!.headers['webhook-signature']).split(' ')).toHaveLength(2);
    for (const s of [secret, rotated.secret]) {
      expect(() => new Webhook(s).verify(second!.body, webhookHeaders(second!))).not.toThrow();
    }
  });

  it('leaves a delivery queued, unsent, while its dispatcher lacks the key; a dispatcher with it sends it', async () => {
    const h = await startHerald(t, { api: { secretKey: KEY }, start: false });
    const receiver = await h.receiver();
    const p = await h.project();
    const { endpoint, secret } = await p.createEndpoint({ url: receiver.url });

    const keyless = h.addDispatcher({ config: { leaseMs: 4_000, requestTimeoutMs: 1_000 } });
    await keyless.start();
    await p.createUser();
    await waitFor(() => keyless.metrics.outcomeCount('secret_unreadable') >= 1, {
      message: 'the keyless dispatcher met the sealed secret',
    });
    await sleep(200);
    expect(receiver.connections).toBe(0);
    // Not a lease that ran out waiting for a slot: that alert stays quiet.
    expect(keyless.metrics.outcomeCount('lease_expired_waiting')).toBe(0);
    const [queued] = await p.deliveriesOf(endpoint.id);
    expect(queued).toMatchObject({ status: 'in_flight', attemptCount: 0 });
    await keyless.stop();

    const keyed = h.addDispatcher({ secrets: secretBox({ current: KEY }) });
    await keyed.start();
    const [req] = await receiver.waitForRequests(1, 15_000);
    expect(() => new Webhook(secret).verify(req!.body, webhookHeaders(req!))).not.toThrow();
    await p.settled({ expected: 1 });
  });

  it("signs a herald listen stream's deliveries with the secret in clear, stored sealed", async () => {
    const h = await startHerald(t, { api: { secretKey: KEY } });
    const p = await h.project();
    const created = await p.call('/v1/endpoints/listen', 201, { json: { forwardTo: 'http://localhost:3000/hooks' } });
    const [row] = await storedSecrets(created.endpoint.id);
    expect(row!.secret.startsWith(SEALED_PREFIX)).toBe(true);

    const abort = new AbortController();
    const response = await p.request(`/v1/endpoints/${created.endpoint.id}/listen`, { signal: abort.signal });
    try {
      const stream = sseReader(response);
      expect(await stream.next()).toMatchObject({ event: 'session' });
      await p.createUser();
      const { event, data } = await stream.next();
      expect(event).toBe('delivery');
      expect(() => new Webhook(created.secret).verify(data.body, data.headers)).not.toThrow();
    } finally {
      abort.abort();
    }
  });

  it('never signs with a value sealed for another endpoint (copied in the database)', async () => {
    const h = await startHerald(t, { api: { secretKey: KEY } });
    const receiver = await h.receiver();
    const p = await h.project();
    const a = await p.createEndpoint({ url: `${receiver.url}/a`, eventTypes: ['user.deleted'] });
    const b = await p.createEndpoint({ url: `${receiver.url}/b` });
    const [aRow] = await storedSecrets(a.endpoint.id);
    await t.db
      .update(endpointSecrets)
      .set({ secret: aRow!.secret })
      .where(eq(endpointSecrets.endpointId, b.endpoint.id));
    await expectApiErrorStatus(await p.request(`/v1/endpoints/${b.endpoint.id}/secret`), 500, aRow!.secret);

    await p.createUser();
    await waitFor(() => h.dispatcher.metrics.outcomeCount('secret_unreadable') >= 1);
    expect(receiver.requests).toHaveLength(0);
  });

  it('answers 500, naming no stored value, when the API holds another key', async () => {
    const sealedUnder = await startHerald(t, { api: { secretKey: KEY }, start: false });
    const p = await sealedUnder.project();
    const { endpoint } = await p.createEndpoint({ url: 'https://hooks.example.com/h' });
    const [row] = await storedSecrets(endpoint.id);

    const otherKey = await startHerald(t, { api: { secretKey: OTHER_KEY }, start: false });
    const response = await otherKey.app.request(`/v1/endpoints/${endpoint.id}/secret`, {
      headers: { authorization: `Bearer ${p.apiKey}` },
    });
    await expectApiErrorStatus(response, 500, row!.secret);
  });

  it('the maintenance seals secrets stored in clear and reseals those under a previous key', async () => {
    const h = await startHerald(t, { start: false });
    const p = await h.project();
    const clear = await p.createEndpoint({ url: 'https://hooks.example.com/clear' });
    const old = await p.createEndpoint({ url: 'https://hooks.example.com/old' });
    const lost = await p.createEndpoint({ url: 'https://hooks.example.com/lost' });
    // Stored before a key was set: in clear.
    expect((await storedSecrets(clear.endpoint.id))[0]!.secret).toBe(clear.secret);
    const sealAs = (key: string, endpointId: string, secret: string) =>
      t.db
        .update(endpointSecrets)
        .set({ secret: secretBox({ current: key }).seal(secret, endpointId) })
        .where(eq(endpointSecrets.endpointId, endpointId));
    await sealAs(OLD_KEY, old.endpoint.id, old.secret);
    await sealAs(OTHER_KEY, lost.endpoint.id, lost.secret);
    // Many secrets in clear: more than one batch of the maintenance.
    await t.db.insert(endpointSecrets).values(
      Array.from({ length: 600 }, () => ({
        id: newId('endpointSecret'),
        endpointId: clear.endpoint.id,
        secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        expiresAt: new Date(Date.now() + 3_600_000),
      })),
    );

    const box = secretBox({ current: KEY, previous: [OLD_KEY] });
    // What an operator watches to know a rotation is done.
    const pending = async () => {
      const text = await h.addDispatcher({ secrets: box }).metrics.render(t.db);
      return Number(/^herald_endpoint_secrets_not_sealed_current (\d+)$/m.exec(text)?.[1]);
    };
    expect(await pending()).toBe(603);
    const report = await runMaintenance(t.db, { ...maintenance, secrets: box });
    expect(report.secrets.sealed).toBeGreaterThanOrEqual(602);
    expect(report.secrets.unreadable).toBeGreaterThanOrEqual(1);
    const current = `${SEALED_PREFIX}${box.keyId}:`;
    for (const [endpoint, secret] of [
      [clear.endpoint.id, clear.secret],
      [old.endpoint.id, old.secret],
    ] as const) {
      const rows = await storedSecrets(endpoint);
      for (const r of rows) expect(r.secret.startsWith(current)).toBe(true);
      expect(box.open(rows[0]!.secret, endpoint)).toBe(secret);
    }
    // Sealed under a key this process lacks: left as it was, for a process that holds it.
    expect(
      secretBox({ current: OTHER_KEY }).open((await storedSecrets(lost.endpoint.id))[0]!.secret, lost.endpoint.id),
    ).toBe(lost.secret);
    const again = await runMaintenance(t.db, { ...maintenance, secrets: box });
    expect(again.secrets.sealed).toBe(0);
    // The one no key here opens.
    expect(await pending()).toBe(1);
  });
});

async function expectApiErrorStatus(response: Response, status: number, storedValue: string) {
  const text = await response.text();
  expect({ status: response.status, text }).toMatchObject({ status });
  expect(JSON.parse(text)).toMatchObject({ error: { code: 'internal_error' } });
  expect(text).not.toContain(storedValue.slice(SEALED_PREFIX.length));
}
