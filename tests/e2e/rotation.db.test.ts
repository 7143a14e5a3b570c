import { describeDb } from '@herald/db/testing';
import { Webhook } from 'standardwebhooks';
import { expect, it } from 'vitest';
import type { ReceivedRequest } from './harness';
import { sleep, startHerald, webhookHeaders } from './harness';

/** True when the standardwebhooks package accepts the request with `secret`. */
function verifies(secret: string, req: ReceivedRequest, signature = String(req.headers['webhook-signature'])): boolean {
  try {
    new Webhook(secret).verify(req.body, { ...webhookHeaders(req), 'webhook-signature': signature });
    return true;
  } catch {
    return false;
  }
}

const signaturesOf = (req: ReceivedRequest) => String(req.headers['webhook-signature']).split(' ');

describeDb('dispatcher end to end: signing secret rotation', (t) => {
  it('signs with both secrets during the grace period, each signature with its own secret, then only the new one', async () => {
    const h = await startHerald(t);
    const receiver = await h.receiver();
    const p = await h.project();
    const { endpoint, secret: oldSecret } = await p.createEndpoint({ url: receiver.url });

    await p.createUser();
    const [before] = await receiver.waitForRequests(1);
    expect(signaturesOf(before!)).toHaveLength(1);
    expect(verifies(oldSecret, before!)).toBe(true);

    const rotated = await p.call<{ secret: string; previousSecretExpiresAt: string }>(
      `/v1/endpoints/${endpoint.id}/rotate-secret`,
      200,
      {
        json: { graceSeconds: 3 },
      },
    );
    const newSecret = rotated.secret;
    expect(newSecret).not.toBe(oldSecret);
    expect(Date.parse(rotated.previousSecretExpiresAt) - Date.now()).toBeLessThanOrEqual(3_000);
    expect(await p.call(`/v1/endpoints/${endpoint.id}/secret`, 200)).toEqual({ secret: newSecret });

    await p.createUser();
    const during = (await receiver.waitForRequests(2))[1]!;
    const [first, second] = signaturesOf(during);
    expect(signaturesOf(during)).toHaveLength(2);
    // A receiver holding either secret accepts the delivery …
    expect(verifies(oldSecret, during)).toBe(true);
    expect(verifies(newSecret, during)).toBe(true);
    // … and each signature belongs to exactly one secret: the newest comes first.
    expect([verifies(newSecret, during, first), verifies(oldSecret, during, first)]).toEqual([true, false]);
    expect([verifies(newSecret, during, second), verifies(oldSecret, during, second)]).toEqual([false, true]);

    // After the grace period only the new secret signs.
    await sleep(Math.max(0, Date.parse(rotated.previousSecretExpiresAt) - Date.now()) + 100);
    await p.createUser();
    const after = (await receiver.waitForRequests(3))[2]!;
    expect(signaturesOf(after)).toHaveLength(1);
    expect(verifies(newSecret, after)).toBe(true);
    expect(verifies(oldSecret, after)).toBe(false);
  });

  it('with graceSeconds 0 every older secret stops signing at once; rotations keep one current secret and one in grace', async () => {
    // A slow retry, so the rotation below lands between the first attempt and the retry.
    const h = await startHerald(t, {
      dispatcher: { retryPolicy: { delaysMs: [600], jitter: 0, minRetryAfterMs: 0, maxRetryAfterMs: 0 } },
    });
    const receiver = await h.receiver();
    const p = await h.project();
    const { endpoint, secret: s1 } = await p.createEndpoint({ url: receiver.url });

    const { secret: s2 } = await p.call(`/v1/endpoints/${endpoint.id}/rotate-secret`, 200, {
      json: { graceSeconds: 0 },
    });
    await p.createUser();
    const [req] = await receiver.waitForRequests(1);
    expect(signaturesOf(req!)).toHaveLength(1);
    expect(verifies(s2, req!)).toBe(true);
    expect(verifies(s1, req!)).toBe(false);

    // Two rotations with grace: the newest secret and the one it replaced sign; the one before
    // them stops at the second rotation, its grace period cut short (two signatures at most).
    const { secret: s3 } = await p.call(`/v1/endpoints/${endpoint.id}/rotate-secret`, 200, {
      json: { graceSeconds: 60 },
    });
    const { secret: s4 } = await p.call(`/v1/endpoints/${endpoint.id}/rotate-secret`, 200, {
      json: { graceSeconds: 60 },
    });
    await p.createUser();
    const second = (await receiver.waitForRequests(2))[1]!;
    expect(signaturesOf(second)).toHaveLength(2);
    for (const secret of [s3, s4]) expect(verifies(secret, second)).toBe(true);
    for (const secret of [s1, s2]) expect(verifies(secret, second)).toBe(false);
    expect(await p.call(`/v1/endpoints/${endpoint.id}/secret`, 200)).toEqual({ secret: s4 });

    // Retries after a rotation are signed with the secrets current at that attempt.
    receiver.respond((r) => (r.nthForId === 1 ? { status: 500 } : { status: 200 }));
    await p.createUser();
    await receiver.waitForRequests(3);
    const { secret: s5 } = await p.call(`/v1/endpoints/${endpoint.id}/rotate-secret`, 200, {
      json: { graceSeconds: 0 },
    });
    const retry = (await receiver.waitForRequests(4))[3]!;
    expect(retry.webhookId).toBe(receiver.requests[2]!.webhookId);
    expect(verifies(s5, retry)).toBe(true);
    // A rotation with no grace ends every older secret at once, not only the one it replaced.
    expect(signaturesOf(retry)).toHaveLength(1);
    for (const secret of [s3, s4]) expect(verifies(secret, retry)).toBe(false);
  });
});
