import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateSecret } from '@herald/signing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningConsumer } from '../src';
import { openConsumerStore, parseEnvelope } from '../src';
import type { PlatformEventType, TestPlatform } from './harness';
import { deliver, newUserEmail, startPlatform, startTestConsumer, waitFor } from './harness';

/**
 * Events of one subject carry `subject` and `sequence` (1, 2, 3, … in commit
 * order). The consumer applies them in that order: one that is not newer than
 * the last applied for its subject is recorded as skipped, never applied.
 * The harness platform has no dispatcher, so the tests stamp the platform's
 * own recorded events with the subject and sequence a delivery would carry.
 */

const secret = generateSecret();
let platform: TestPlatform;
let consumer: RunningConsumer;

beforeAll(async () => {
  platform = await startPlatform();
  consumer = await startTestConsumer(platform, { secrets: [secret], pollIntervalMs: 50 });
}, 60_000);

afterAll(async () => {
  await consumer?.close();
  await platform?.close();
});

const timelineFor = async (webhookId: string) =>
  (await consumer.store.timeline.list({ limit: 5000 })).filter((entry) => entry.webhookId === webhookId);

/** Delivers the platform's latest event of a type for the user, as the sequence-th event of its subject. */
async function deliverSequenced(
  type: PlatformEventType,
  userId: string,
  sequence: number,
  webhookId = `msg_${type}_${sequence}_${userId}`,
): Promise<string> {
  const event = await platform.latestEvent(type, userId);
  const body = JSON.stringify({ ...JSON.parse(event.body), subject: userId, sequence });
  const response = await deliver(consumer.url, { webhookId, body, secrets: secret });
  expect(response.status).toBe(200);
  await waitFor(async () => (await consumer.store.inbox.get(webhookId))?.processedAt);
  return webhookId;
}

describe('parseEnvelope', () => {
  const envelope = { id: 'evt_1', type: 'user.updated', version: 1, timestamp: new Date().toISOString(), data: {} };

  it('reads subject and sequence, and tolerates their absence (older events)', () => {
    expect(parseEnvelope(JSON.stringify({ ...envelope, subject: 'usr_1', sequence: 3 }))).toMatchObject({
      subject: 'usr_1',
      sequence: 3,
    });
    const older = parseEnvelope(JSON.stringify(envelope));
    expect(older).not.toBeNull();
    expect(older).not.toHaveProperty('subject');
    expect(older).not.toHaveProperty('sequence');
    // Unusable values leave the event unordered rather than rejected.
    const odd = parseEnvelope(JSON.stringify({ ...envelope, subject: 'usr_1', sequence: '3' }));
    expect(odd).toMatchObject({ subject: 'usr_1' });
    expect(odd).not.toHaveProperty('sequence');
    expect(parseEnvelope(JSON.stringify({ ...envelope, sequence: 3 }))).not.toHaveProperty('sequence');
  });
});

describe('events of one subject are applied in sequence order', () => {
  it('skips a user.updated older than the user.deleted already applied: the user is not brought back', async () => {
    const user = await platform.client.users.create.mutate({
      email: newUserEmail(),
      password: 'correct horse battery',
    });
    await platform.client.users.update.mutate({ id: user.id, roles: ['member'] });
    await platform.client.users.delete.mutate({ id: user.id });

    // The deletion (sequence 3) arrives first; the update it overtook (sequence 2) comes late.
    const deleted = await deliverSequenced('user.deleted', user.id, 3);
    expect((await timelineFor(deleted)).map((entry) => entry.summary)).toContain('local data removed (0 rows)');
    const late = await deliverSequenced('user.updated', user.id, 2);

    expect(await consumer.store.userData.getUser(user.id)).toBeNull();
    expect(await consumer.store.userData.countRowsFor(user.id)).toBe(0);
    const entries = await timelineFor(late);
    expect(entries.map((entry) => [entry.kind, entry.summary])).toEqual([
      ['webhook', 'verified, queued'],
      ['result', 'skipped, stale: sequence 2 after 3'],
    ]);
    expect(entries[1]).toMatchObject({
      ok: true,
      subject: user.id,
      sequence: 2,
      detail: { skipped: true, subject: user.id, sequence: 2, lastApplied: 3 },
    });

    // Not newer is stale too: the same sequence under another webhook-id is not applied twice.
    const again = await deliverSequenced('user.deleted', user.id, 3, `msg_again_${user.id}`);
    expect((await timelineFor(again)).at(-1)?.summary).toBe('skipped, stale: sequence 3 after 3');
    // The last applied sequence outlives the user's local data.
    expect(await consumer.store.userData.lastAppliedSequence(user.id)).toBe(3);
  });

  it('applies newer events, and keeps each subject apart', async () => {
    const first = await platform.client.users.create.mutate({ email: newUserEmail(), password: 'correct horse' });
    const second = await platform.client.users.create.mutate({ email: newUserEmail(), password: 'correct horse' });
    await platform.client.users.update.mutate({ id: first.id, roles: ['admin'] });
    await platform.client.users.update.mutate({ id: second.id, roles: ['admin'] });

    const firstUpdate = await deliverSequenced('user.updated', first.id, 7);
    expect((await timelineFor(firstUpdate)).at(-1)?.summary).toMatch(/^local copy updated/);
    // Another subject's lower sequence is not stale.
    const secondUpdate = await deliverSequenced('user.updated', second.id, 2);
    expect((await timelineFor(secondUpdate)).at(-1)?.summary).toMatch(/^local copy updated/);
    expect(await consumer.store.userData.getUser(second.id)).toMatchObject({ roles: ['admin'] });
    expect(await consumer.store.userData.lastAppliedSequence(first.id)).toBe(7);
    expect(await consumer.store.userData.lastAppliedSequence(second.id)).toBe(2);
  });
});

describe('the last applied sequence', () => {
  it('is kept in the store, so a restarted consumer still knows it', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'demo-consumer-sequence-'));
    try {
      const before = await openConsumerStore(dataDir);
      await before.userData.markSequenceApplied('usr_restart', 5);
      await before.userData.markSequenceApplied('usr_restart', 4);
      await before.close();
      const after = await openConsumerStore(dataDir);
      expect(await after.userData.lastAppliedSequence('usr_restart')).toBe(5);
      expect(await after.userData.lastAppliedSequence('usr_other')).toBeNull();
      await after.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('the page', () => {
  it("streams each entry's subject sequence and renders it as #n", async () => {
    const user = await platform.client.users.create.mutate({ email: newUserEmail(), password: 'correct horse' });
    const webhookId = await deliverSequenced('user.created', user.id, 1);

    const controller = new AbortController();
    const response = await fetch(`${consumer.url}/events`, { signal: controller.signal });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const deadline = setTimeout(() => controller.abort(), 10_000);
    try {
      while (!text.includes('role member assigned')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
    } finally {
      clearTimeout(deadline);
      controller.abort();
    }
    const streamed = text
      .split('\n')
      .filter((line) => line.startsWith('data: ') && line.includes(webhookId))
      .map((line) => JSON.parse(line.slice('data: '.length)) as { kind: string; sequence: number | null });
    expect(streamed.map((entry) => entry.kind)).toEqual(expect.arrayContaining(['webhook', 'call', 'result']));
    expect(streamed.every((entry) => entry.sequence === 1)).toBe(true);

    // The page renders what the stream carries (textContent, never HTML).
    const html = await (await fetch(consumer.url)).text();
    expect(html).toContain("span('sequence', '#' + entry.sequence)");
    expect(html).toContain('item.dataset.sequence = String(entry.sequence)');
  });
});
