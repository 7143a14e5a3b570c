import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { ConsumerStore } from '../src';
import { openConsumerStore } from '../src';

/**
 * A subject's jobs take turns: only its first unfinished job may run (`waiting` false), and ending
 * it hands the turn to the next in order of arrival. Choosing the next job reads only jobs whose
 * turn it is, so a long line behind one user's retried job costs the other users nothing.
 */

let store: ConsumerStore | undefined;
let dataDir: string | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

const soon = () => new Date(Date.now() + 1000);
const enqueue = (s: ConsumerStore, webhookId: string, subject: string | null) =>
  s.inbox.enqueue({ webhookId, type: 'user.updated', subject, body: '{}' });
const waitingOf = async (s: ConsumerStore) =>
  Object.fromEntries(
    (
      await s.db.query<{ webhook_id: string; waiting: boolean }>(
        'select webhook_id, waiting from inbox where processed_at is null and failed_at is null order by arrival',
      )
    ).rows.map((row) => [row.webhook_id, row.waiting]),
  );

it("marks a job that arrives behind its subject's unfinished one as waiting, and passes the turn on in order", async () => {
  store = await openConsumerStore('memory://');
  for (const [id, subject] of [
    ['a1', 'usr_a'],
    ['a2', 'usr_a'],
    ['b1', 'usr_b'],
    ['a3', 'usr_a'],
    ['n1', null],
    ['n2', null],
  ] as const)
    await enqueue(store, id, subject);
  expect(await waitingOf(store)).toEqual({ a1: false, a2: true, b1: false, a3: true, n1: false, n2: false });

  await store.inbox.retryLater('a1', 'down', new Date(Date.now() + 60_000));
  expect((await store.inbox.nextDue(soon()))?.webhookId).toBe('b1');
  await store.inbox.complete('b1');
  await store.inbox.complete('n1');
  await store.inbox.complete('n2');
  expect(await store.inbox.nextDue(soon())).toBeNull();

  // Ending the first job twice passes the turn once: a3 still waits behind a2.
  await store.inbox.complete('a1');
  await store.inbox.complete('a1');
  expect(await waitingOf(store)).toEqual({ a2: false, a3: true });
  // Giving up on a job passes the turn on too.
  await store.inbox.giveUp('a2', 'broken');
  expect(await waitingOf(store)).toEqual({ a3: false });
  expect((await store.inbox.nextDue(soon()))?.webhookId).toBe('a3');
  // A job that arrives once its subject has nothing unfinished runs at once.
  await store.inbox.complete('a3');
  await enqueue(store, 'a4', 'usr_a');
  expect(await waitingOf(store)).toEqual({ a4: false });
});

it('leaves a waiting job waiting when it is ended out of turn', async () => {
  store = await openConsumerStore('memory://');
  await enqueue(store, 'a1', 'usr_a');
  await enqueue(store, 'a2', 'usr_a');
  await enqueue(store, 'a3', 'usr_a');
  await store.inbox.giveUp('a2', 'given up by hand');
  expect(await waitingOf(store)).toEqual({ a1: false, a3: true });
  await store.inbox.complete('a1');
  expect(await waitingOf(store)).toEqual({ a3: false });
});

it('marks the jobs held back in an inbox from before `waiting` when it is opened', async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'demo-consumer-turns-'));
  const older = await openConsumerStore(dataDir);
  for (const [id, subject] of [
    ['a1', 'usr_a'],
    ['a2', 'usr_a'],
    ['b1', 'usr_b'],
  ] as const)
    await enqueue(older, id, subject);
  await older.inbox.complete('b1');
  await enqueue(older, 'b2', 'usr_b');
  // The previous version's inbox: no `waiting` column, no index on it.
  await older.db.exec('drop index inbox_ready; alter table inbox drop column waiting');
  await older.close();

  store = await openConsumerStore(dataDir);
  expect(await waitingOf(store)).toEqual({ a1: false, a2: true, b2: false });
  await store.inbox.complete('a1');
  expect((await store.inbox.nextDue(soon()))?.webhookId).toBe('a2');
});
