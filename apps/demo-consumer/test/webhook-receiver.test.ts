import { generateSecret, signHeaders } from '@herald/signing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningConsumer } from '../src';
import type { TestPlatform } from './harness';
import { deliver, newUserEmail, startPlatform, startTestConsumer, waitFor } from './harness';

const currentSecret = generateSecret();
const previousSecret = generateSecret();

let platform: TestPlatform;
let consumer: RunningConsumer;

beforeAll(async () => {
  platform = await startPlatform();
  // Rotation: both secrets are accepted during the overlap.
  consumer = await startTestConsumer(platform, { secrets: [currentSecret, previousSecret], pollIntervalMs: 50 });
}, 60_000);

afterAll(async () => {
  await consumer?.close();
  await platform?.close();
});

const timelineFor = async (webhookId: string) =>
  (await consumer.store.timeline.list({ limit: 5000 })).filter((entry) => entry.webhookId === webhookId);

const processed = (webhookId: string) =>
  waitFor(async () => {
    const job = await consumer.store.inbox.get(webhookId);
    return job?.processedAt ? job : null;
  });

async function createUser() {
  return platform.client.users.create.mutate({ email: newUserEmail(), password: 'correct horse battery' });
}

describe('POST /webhooks/herald: verification', () => {
  it('answers 401 to a bad signature and stores nothing', async () => {
    const before = await consumer.store.inbox.counts();
    const body = JSON.stringify({
      id: 'evt_forged',
      type: 'user.deleted',
      version: 1,
      timestamp: new Date().toISOString(),
      data: {},
    });
    const response = await deliver(consumer.url, { webhookId: 'msg_forged', body, secrets: generateSecret() });

    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { code: 'no_matching_signature' } });
    expect(await consumer.store.inbox.counts()).toEqual(before);
    expect(await consumer.store.inbox.get('msg_forged')).toBeNull();
    const [entry] = await timelineFor('msg_forged');
    expect(entry).toMatchObject({
      kind: 'webhook',
      ok: false,
      detail: { verified: false, error: 'no_matching_signature' },
    });
  });

  it('answers 401 when the body was changed after signing', async () => {
    const body = JSON.stringify({
      id: 'evt_x',
      type: 'user.created',
      version: 1,
      timestamp: new Date().toISOString(),
      data: {},
    });
    const headers = signHeaders({ id: 'msg_tampered', timestamp: new Date(), body, secrets: currentSecret });
    const response = await fetch(`${consumer.url}/webhooks/herald`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: body.replace('user.created', 'user.deleted'),
    });
    expect(response.status).toBe(401);
    expect(await consumer.store.inbox.get('msg_tampered')).toBeNull();
  });

  it('answers 400 to a stale timestamp, even correctly signed, and stores nothing', async () => {
    const body = JSON.stringify({
      id: 'evt_stale',
      type: 'user.deleted',
      version: 1,
      timestamp: new Date().toISOString(),
      data: {},
    });
    const tenMinutesAgo = new Date(Date.now() - 10 * 60 * 1000);
    const response = await deliver(consumer.url, {
      webhookId: 'msg_stale',
      body,
      secrets: currentSecret,
      timestamp: tenMinutesAgo,
    });

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'timestamp_too_old' } });
    expect(await consumer.store.inbox.get('msg_stale')).toBeNull();
  });

  it('answers 400 when the signature headers are missing', async () => {
    const response = await fetch(`${consumer.url}/webhooks/herald`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'missing_header' } });
  });

  it('accepts a delivery signed with the previous secret only (rotation)', async () => {
    const user = await createUser();
    const event = await platform.latestEvent('user.created', user.id);
    const response = await deliver(consumer.url, { webhookId: event.id, body: event.body, secrets: previousSecret });
    expect(response.status).toBe(200);
    await processed(event.id);
  });
});

describe('follow-ups through the typed client', () => {
  it('gives a created user the role member, through the API', async () => {
    const user = await createUser();
    expect(user.roles).toEqual([]);
    const event = await platform.latestEvent('user.created', user.id);

    const response = await deliver(consumer.url, { webhookId: event.id, body: event.body, secrets: currentSecret });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: true, duplicate: false });
    await processed(event.id);

    expect((await platform.client.users.get.query({ id: user.id })).roles).toEqual(['member']);
    const summaries = (await timelineFor(event.id)).map((entry) => `${entry.kind}: ${entry.summary}`);
    expect(summaries[0]).toBe('webhook: verified, queued');
    expect(summaries).toContain('result: role member assigned');
    expect(summaries.some((line) => line.startsWith('call: users.update'))).toBe(true);
    expect(await consumer.store.userData.getUser(user.id)).toMatchObject({ roles: ['member'] });
  });

  it('processes a duplicate webhook-id once and acknowledges it as a duplicate', async () => {
    const user = await createUser();
    const event = await platform.latestEvent('user.created', user.id);

    const first = await deliver(consumer.url, { webhookId: event.id, body: event.body, secrets: currentSecret });
    await processed(event.id);
    // A redelivery: same webhook-id, signed again with a new timestamp.
    const second = await deliver(consumer.url, { webhookId: event.id, body: event.body, secrets: currentSecret });

    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ received: true, duplicate: false });
    expect(second.status).toBe(200);
    expect(await second.json()).toEqual({ received: true, duplicate: true });

    // Give a wrongly re-queued job the time to run before judging.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await consumer.store.inbox.get(event.id)).toMatchObject({ attempts: 1 });
    const entries = await timelineFor(event.id);
    expect(entries.filter((entry) => entry.kind === 'webhook').map((entry) => entry.detail?.duplicate)).toEqual([
      false,
      true,
    ]);
    expect(entries.filter((entry) => entry.kind === 'call' && entry.summary.startsWith('users.update'))).toHaveLength(
      1,
    );
    expect(entries.filter((entry) => entry.kind === 'result')).toHaveLength(1);
  });

  it('counts a redelivered failed login once, and locks the user at three distinct failures', async () => {
    const user = await createUser();
    const failLogin = () =>
      platform.client.logins.create.mutate({ email: user.email, password: 'wrong password' }).catch(() => null);

    await failLogin();
    const firstFailure = await platform.latestEvent('user.login.failed', user.id);
    for (let i = 0; i < 3; i++) {
      const response = await deliver(consumer.url, {
        webhookId: firstFailure.id,
        body: firstFailure.body,
        secrets: currentSecret,
      });
      expect(response.status).toBe(200);
    }
    await processed(firstFailure.id);
    expect((await platform.client.users.get.query({ id: user.id })).status).toBe('active');

    for (let i = 0; i < 2; i++) {
      await failLogin();
      const failure = await platform.latestEvent('user.login.failed', user.id);
      await deliver(consumer.url, { webhookId: failure.id, body: failure.body, secrets: currentSecret });
      await processed(failure.id);
    }
    expect((await platform.client.users.get.query({ id: user.id })).status).toBe('locked');

    // The API's user.updated webhook closes the loop.
    const updated = await platform.latestEvent('user.updated', user.id);
    await deliver(consumer.url, { webhookId: updated.id, body: updated.body, secrets: currentSecret });
    await processed(updated.id);
    expect((await timelineFor(updated.id)).map((entry) => entry.summary)).toContain(
      'user locked (confirmed by user.updated)',
    );
    expect(await consumer.store.userData.getUser(user.id)).toMatchObject({ status: 'locked' });
  });

  it('records one security notice per password change and removes local data on deletion', async () => {
    const user = await createUser();
    const created = await platform.latestEvent('user.created', user.id);
    await deliver(consumer.url, { webhookId: created.id, body: created.body, secrets: currentSecret });
    await processed(created.id);

    await platform.client.users.setPassword.mutate({ id: user.id, password: 'a brand new password' });
    const changed = await platform.latestEvent('user.password.changed', user.id);
    await deliver(consumer.url, { webhookId: changed.id, body: changed.body, secrets: currentSecret });
    await deliver(consumer.url, { webhookId: changed.id, body: changed.body, secrets: currentSecret });
    await processed(changed.id);
    const notices = await consumer.store.userData.securityNotices(user.id);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ email: user.email });

    await platform.client.users.delete.mutate({ id: user.id });
    const deleted = await platform.latestEvent('user.deleted', user.id);
    const timelineWithEmail = async () => {
      const { rows } = await consumer.store.db.query<{ count: number }>(
        `select count(*)::int as count from timeline where strpos(summary || coalesce(detail::text, ''), $1) > 0`,
        [user.email],
      );
      return rows[0]!.count;
    };
    expect(await timelineWithEmail()).toBeGreaterThan(0);
    await deliver(consumer.url, { webhookId: deleted.id, body: deleted.body, secrets: currentSecret });
    await processed(deleted.id);
    expect(await consumer.store.userData.countRowsFor(user.id)).toBe(0);
    // The page's entries about them keep what happened, not what they said of the user.
    expect(await timelineWithEmail()).toBe(0);
    expect((await timelineFor(changed.id)).map((entry) => entry.summary)).toContain(
      'details removed: the user was deleted',
    );
    // How a webhook of theirs was received says nothing about them: kept whole (the page shows it verified).
    expect((await timelineFor(changed.id)).find((entry) => entry.kind === 'webhook')).toMatchObject({
      summary: 'verified, queued',
      detail: { verified: true },
    });
    expect((await timelineFor(deleted.id)).at(-1)).toMatchObject({
      summary: expect.stringMatching(/^local data removed/),
    });
  });

  it("empties a deleted user's stored deliveries, and one of theirs arriving after the deletion is not applied", async () => {
    const user = await createUser();
    await platform.client.users.update.mutate({ id: user.id, roles: ['admin'] });
    // Taken before the deletion: the platform erases the personal data of a deleted user's events.
    const created = await platform.latestEvent('user.created', user.id);
    const updated = await platform.latestEvent('user.updated', user.id);
    const rowsWithEmail = async () => {
      const { rows } = await consumer.store.db.query<{ count: number }>(
        'select count(*)::int as count from inbox where strpos(body, $1) > 0',
        [user.email],
      );
      return rows[0]!.count;
    };

    await deliver(consumer.url, { webhookId: created.id, body: created.body, secrets: currentSecret });
    await processed(created.id);
    expect(await rowsWithEmail()).toBe(1);

    await platform.client.users.delete.mutate({ id: user.id });
    const deleted = await platform.latestEvent('user.deleted', user.id);
    await deliver(consumer.url, { webhookId: deleted.id, body: deleted.body, secrets: currentSecret });
    await processed(deleted.id);
    expect(await consumer.store.userData.countRowsFor(user.id)).toBe(0);
    expect(await rowsWithEmail()).toBe(0);
    // The row stays, emptied, so a redelivery is still recognised as a duplicate.
    expect(await consumer.store.inbox.get(created.id)).toMatchObject({ body: '', processedAt: expect.any(Date) });
    const again = await deliver(consumer.url, { webhookId: created.id, body: created.body, secrets: currentSecret });
    expect(await again.json()).toEqual({ received: true, duplicate: true });

    // A late user.updated in the older format (no subject, no sequence) would bring the user back.
    const { subject: _subject, sequence: _sequence, ...older } = JSON.parse(updated.body);
    const lateId = `msg_late_${user.id}`;
    await deliver(consumer.url, { webhookId: lateId, body: JSON.stringify(older), secrets: currentSecret });
    await processed(lateId);
    expect(await consumer.store.userData.getUser(user.id)).toBeNull();
    expect(await consumer.store.userData.countRowsFor(user.id)).toBe(0);
    expect(await rowsWithEmail()).toBe(0);
    expect((await timelineFor(lateId)).at(-1)).toMatchObject({
      kind: 'result',
      summary: expect.stringMatching(/^skipped/),
    });
  });
});
