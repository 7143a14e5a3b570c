import { signHeaders } from '@herald/signing';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isKnownEvent } from '../src';
import {
  deliver,
  futureEventBody,
  newWebhookId,
  type StartServer,
  secrets,
  type TestServer,
  userCreatedBody,
} from './support';

const MAX_BODY_BYTES = 64 * 1024;
const TEN_MINUTES_MS = 10 * 60 * 1000;

/**
 * The behaviour every adapter must have, run against the real framework on a real port.
 * The server accepts the current and the previous secret (rotation).
 */
export function describeAdapter(framework: string, start: StartServer) {
  describe(`${framework} adapter`, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await start({ secrets: [secrets.current, secrets.previous], maxBodyBytes: MAX_BODY_BYTES });
    });
    afterAll(() => server?.close());
    beforeEach(() => {
      server.received.length = 0;
      server.rejected.length = 0;
    });

    it('calls the handler with the typed, validated event and answers 200', async () => {
      const { body, event } = userCreatedBody();
      const id = newWebhookId();
      const response = await deliver(server.url, { body, secrets: secrets.current, id });

      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ received: true });
      expect(server.received).toHaveLength(1);
      const [{ event: received, webhook } = expect.fail('no event')] = server.received;
      expect(webhook).toMatchObject({ id, rawBody: body });
      expect(isKnownEvent(received)).toBe(true);
      if (!isKnownEvent(received) || received.type !== 'user.created') return expect.fail('not a user.created');
      expect(received).toEqual({ ...event, subject: event.data.user.id, sequence: 1 });
      // The raw bytes were verified: the escaped "Zo\u00eb" would not survive a re-serialisation.
      expect(received.data.user.name).toBe('Zoë');
    });

    it('answers 401 to a body changed after signing, without calling the handler', async () => {
      const { body } = userCreatedBody();
      const tampered = body.replace('Zo\\u00eb', 'Mallory');
      expect(tampered).not.toBe(body);
      const response = await deliver(server.url, { body, secrets: secrets.current, sentBody: tampered });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({
        error: { code: 'no_matching_signature', message: expect.any(String) },
      });
      expect(server.received).toEqual([]);
      expect(server.rejected.map((r) => r.code)).toEqual(['no_matching_signature']);
    });

    it('answers 401 to a delivery signed with a secret it does not hold', async () => {
      const response = await deliver(server.url, { body: userCreatedBody().body, secrets: secrets.stranger });
      expect(response.status).toBe(401);
      expect(server.received).toEqual([]);
    });

    it('answers 400 to a timestamp outside the tolerance, past or future, even when correctly signed', async () => {
      const stale = await deliver(server.url, {
        body: userCreatedBody().body,
        secrets: secrets.current,
        timestamp: new Date(Date.now() - TEN_MINUTES_MS),
      });
      expect(stale.status).toBe(400);
      expect(await stale.json()).toMatchObject({ error: { code: 'timestamp_too_old' } });

      const early = await deliver(server.url, {
        body: userCreatedBody().body,
        secrets: secrets.current,
        timestamp: new Date(Date.now() + TEN_MINUTES_MS),
      });
      expect(early.status).toBe(400);
      expect(await early.json()).toMatchObject({ error: { code: 'timestamp_too_new' } });
      expect(server.received).toEqual([]);
    });

    it('accepts either secret while one is rotated, and a header carrying several signatures', async () => {
      const byPrevious = await deliver(server.url, { body: userCreatedBody().body, secrets: secrets.previous });
      expect(byPrevious.status).toBe(200);
      const severalSignatures = await deliver(server.url, {
        body: userCreatedBody().body,
        secrets: [secrets.stranger, secrets.current],
      });
      expect(severalSignatures.status).toBe(200);
      expect(server.received).toHaveLength(2);
    });

    it('passes an unknown future event type, and a future version of a known type, through untouched', async () => {
      const future = futureEventBody();
      expect((await deliver(server.url, { body: future.body, secrets: secrets.current })).status).toBe(200);
      const nextVersion = futureEventBody('user.updated', 99);
      expect((await deliver(server.url, { body: nextVersion.body, secrets: secrets.current })).status).toBe(200);

      expect(server.received.map((r) => r.event)).toEqual([future.envelope, nextVersion.envelope]);
      expect(server.received.map((r) => isKnownEvent(r.event))).toEqual([false, false]);
    });

    it('answers 400 to missing signature headers', async () => {
      const response = await fetch(server.url, { method: 'POST', body: userCreatedBody().body });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code: 'missing_header' } });
    });

    it('verifies the bytes whatever the Content-Type says, and refuses an unsigned request for its signature', async () => {
      // A proxy or another sender may send none, a bare word, or a list: the signature covers the bytes.
      for (const type of ['', 'json', 'application/json, text/plain', 'text/plain; charset']) {
        const { body } = userCreatedBody();
        const signed = await deliver(server.url, { body, secrets: secrets.current, headers: { 'content-type': type } });
        expect([type, signed.status]).toEqual([type, 200]);
        const unsigned = await fetch(server.url, { method: 'POST', headers: { 'content-type': type }, body });
        expect([type, unsigned.status, await unsigned.json()]).toMatchObject([
          type,
          400,
          { error: { code: 'missing_header' } },
        ]);
      }
      expect(server.received).toHaveLength(4);
    });

    it('answers 400 to a signed body that is not JSON, not an envelope, or fails its schema', async () => {
      const notJson = await deliver(server.url, { body: 'user.created', secrets: secrets.current });
      expect(notJson.status).toBe(400);
      expect(await notJson.json()).toMatchObject({ error: { code: 'invalid_payload' } });

      const noEnvelope = await deliver(server.url, { body: '{"hello":"world"}', secrets: secrets.current });
      expect(noEnvelope.status).toBe(400);

      const { event } = userCreatedBody();
      const badData = JSON.stringify({ ...event, data: { user: { ...event.data.user, email: 42 } } });
      const invalid = await deliver(server.url, { body: badData, secrets: secrets.current });
      expect(invalid.status).toBe(400);
      expect(await invalid.json()).toMatchObject({
        error: { code: 'invalid_payload', details: { issues: [{ path: 'data.user.email' }] } },
      });
      expect(server.received).toEqual([]);
    });

    it('answers 400 to a signed body that is not valid UTF-8 (401 when unsigned), never handing on U+FFFD', async () => {
      // Valid JSON around a lone 0xFF byte: decoded leniently it becomes "\uFFFD", an event that parses.
      const json = futureEventBody().body;
      const at = json.indexOf('"inv_1"') + '"inv_'.length;
      const bytes = Buffer.concat([
        Buffer.from(json.slice(0, at)),
        Buffer.from([0xff]),
        Buffer.from(json.slice(at + 1)),
      ]);
      expect(JSON.parse(bytes.toString('utf8'))).toMatchObject({ subject: 'inv_\ufffd' });
      const send = (signedWith: string) =>
        fetch(server.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...signHeaders({ id: newWebhookId(), timestamp: new Date(), body: bytes, secrets: signedWith }),
          },
          body: bytes,
        });
      const signed = await send(secrets.current);
      expect(signed.status).toBe(400);
      expect(await signed.json()).toEqual({
        error: { code: 'invalid_payload', message: 'The body is not valid UTF-8' },
      });
      expect((await send(secrets.stranger)).status).toBe(401);
      expect(server.received).toEqual([]);
      expect(server.rejected.map((r) => r.code)).toEqual(['invalid_payload', 'no_matching_signature']);
    });

    it('answers 413 to a body over the limit without calling the handler', async () => {
      const { event } = userCreatedBody();
      const huge = JSON.stringify({ ...event, padding: 'x'.repeat(MAX_BODY_BYTES) });
      const response = await deliver(server.url, { body: huge, secrets: secrets.current });
      expect(response.status).toBe(413);
      expect(await response.json()).toMatchObject({ error: { code: 'payload_too_large' } });
      expect(server.received).toEqual([]);
    });

    it('verifies a delivery signed by the standardwebhooks reference library', async () => {
      const { body } = userCreatedBody();
      const id = newWebhookId();
      const now = new Date();
      const signature = new StandardWebhook(secrets.current).sign(id, now, body);
      const response = await fetch(server.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': signature,
        },
        body,
      });
      expect(response.status).toBe(200);
      expect(server.received.map((r) => r.webhook.id)).toEqual([id]);
    });

    it('answers 5xx when the handler throws, so Herald retries', async () => {
      const response = await deliver(server.url, {
        body: userCreatedBody().body,
        secrets: secrets.current,
        id: newWebhookId('msg_throw'),
      });
      expect(response.status).toBeGreaterThanOrEqual(500);
    });
  });
}
