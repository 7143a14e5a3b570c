import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterEach, expect, it } from 'vitest';
import { openConsumerStore } from '../src';

/** The inbox as versions before per-subject order created it. */
const olderInboxSql = `
create table inbox (
  webhook_id      text primary key,
  type            text not null,
  body            text not null,
  received_at     timestamptz not null default now(),
  processed_at    timestamptz,
  failed_at       timestamptz,
  attempts        integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_error      text
);
create index inbox_due on inbox (next_attempt_at, received_at) where processed_at is null and failed_at is null;
`;

const body = (type: string, data: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ id: `evt_${type}`, type, version: 1, timestamp: '2026-01-01T00:00:00.000Z', data, ...extra });
const snapshot = (id: string) => ({
  id,
  email: `${id}@example.com`,
  name: 'Someone',
  roles: [],
  status: 'active',
  metadata: {},
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
});

let dataDir: string | undefined;
afterEach(() => {
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

it('files the rows of an inbox created by an older version under their subject, in the order received', async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'demo-consumer-upgrade-'));
  const older = await PGlite.create(dataDir);
  await older.exec(olderInboxSql);
  const rows: [string, string, string, string | null][] = [
    // A user deleted under the older version: a finished job of theirs still holds their email.
    ['msg_gone_created', 'user.created', body('user.created', { user: snapshot('usr_gone') }), '2026-01-01T00:00:01Z'],
    ['msg_gone_deleted', 'user.deleted', body('user.deleted', { user: { id: 'usr_gone' } }), '2026-01-01T00:00:02Z'],
    // Pending: with the same received_at, an envelope subject, and a subject only in the data.
    ['msg_a_1', 'user.created', body('user.created', { user: snapshot('usr_a') }, { subject: 'usr_a' }), null],
    ['msg_a_2', 'user.updated', body('user.updated', { user: snapshot('usr_a'), changedFields: [] }), null],
    ['msg_b_1', 'user.password.changed', body('user.password.changed', { userId: 'usr_b', changedAt: 'x' }), null],
  ];
  for (const [webhookId, type, text, processedAt] of rows) {
    await older.query(
      `insert into inbox (webhook_id, type, body, received_at, processed_at)
       values ($1, $2, $3, coalesce($4::timestamptz, '2026-01-01T00:00:03Z'), $4::timestamptz)`,
      [webhookId, type, text, processedAt],
    );
  }
  await older.close();

  const store = await openConsumerStore(dataDir);
  try {
    expect(await store.inbox.get('msg_a_1')).toMatchObject({ subject: 'usr_a' });
    expect(await store.inbox.get('msg_a_2')).toMatchObject({ subject: 'usr_a' });
    expect(await store.inbox.get('msg_b_1')).toMatchObject({ subject: 'usr_b' });
    expect(await store.inbox.get('msg_gone_created')).toMatchObject({ subject: 'usr_gone', body: '' });
    expect(await store.userData.isErased('usr_gone')).toBe(true);
    expect(await store.userData.countRowsFor('usr_gone')).toBe(0);

    // usr_a's first job waits for a retry: their second waits behind it, usr_b's goes on.
    const next = async () => (await store.inbox.nextDue(new Date(Date.now() + 1000)))?.webhookId ?? null;
    expect(await next()).toBe('msg_a_1');
    await store.inbox.retryLater('msg_a_1', 'down', new Date(Date.now() + 60_000));
    expect(await next()).toBe('msg_b_1');
    await store.inbox.complete('msg_b_1');
    // A job stored after the upgrade comes after the older ones.
    await store.inbox.enqueue({ webhookId: 'msg_a_3', type: 'user.updated', subject: 'usr_a', body: '{}' });
    expect(await next()).toBeNull();
    await store.inbox.complete('msg_a_1');
    expect(await next()).toBe('msg_a_2');
    await store.inbox.complete('msg_a_2');
    expect(await next()).toBe('msg_a_3');
  } finally {
    await store.close();
  }
  // Opening it again changes nothing.
  const reopened = await openConsumerStore(dataDir);
  try {
    expect(await reopened.inbox.get('msg_a_2')).toMatchObject({ subject: 'usr_a', processedAt: expect.any(Date) });
  } finally {
    await reopened.close();
  }
});

it('redacts, on start, the timeline entries of users erased before erasure redacted them, and no others', async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'demo-consumer-upgrade-'));
  const older = await openConsumerStore(dataDir);
  try {
    await older.timeline.append({
      kind: 'result',
      subject: 'usr_gone',
      summary: 'security notice recorded for gone@example.com',
    });
    await older.timeline.append({
      kind: 'action',
      summary: 'create user: users.create → usr_gone (gone@example.com)',
      detail: { userId: 'usr_gone', email: 'gone@example.com' },
    });
    await older.timeline.append({
      kind: 'result',
      subject: 'usr_kept',
      summary: 'security notice recorded for kept@example.com',
    });
    // As a version before this one erased: the subject recorded, the timeline left as it was.
    await older.db.query(
      `insert into erased_subjects (subject, erased_at) values ('usr_gone', now() + interval '1 second')`,
    );
    await older.db.query(
      `insert into timeline (at, kind, subject, summary) values (now() + interval '2 seconds', 'result', 'usr_gone', 'local data removed (3 rows)')`,
    );
  } finally {
    await older.close();
  }

  const store = await openConsumerStore(dataDir);
  try {
    const summaries = (await store.timeline.list()).map((entry) => entry.summary);
    expect(summaries).toEqual([
      'details removed: the user was deleted',
      'details removed: the user was deleted',
      'security notice recorded for kept@example.com',
      'local data removed (3 rows)',
    ]);
    expect((await store.timeline.list())[1]!.detail).toBeNull();
  } finally {
    await store.close();
  }
});
