import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Transaction } from '@electric-sql/pglite';
import { PGlite } from '@electric-sql/pglite';
import { inboxSubjectOfBody } from '../herald-event';
import { createInboxStore } from './inbox-store';
import { consumerSchemaSql } from './schema';
import { createTimelineStore } from './timeline-store';
import { createUserDataStore, REDACTED_SUMMARY } from './user-data-store';

export type { InboxJob, InboxStore } from './inbox-store';
export type { TimelineEntry, TimelineEntryInput, TimelineKind, TimelineStore } from './timeline-store';
export type { LocalUser, SecurityNotice, UserDataStore } from './user-data-store';

export const DEFAULT_DATA_DIR = '.data/demo-consumer';

export interface ConsumerStore {
  inbox: ReturnType<typeof createInboxStore>;
  timeline: ReturnType<typeof createTimelineStore>;
  userData: ReturnType<typeof createUserDataStore>;
  /** The embedded database itself, for tests and inspection. */
  db: PGlite;
  close(): Promise<void>;
}

/**
 * Opens the consumer's embedded PGlite database (its own directory, never the
 * platform's) and creates its tables. `memory://` gives a throw-away store.
 * PGlite allows one process per directory.
 */
export async function openConsumerStore(dataDir: string = DEFAULT_DATA_DIR): Promise<ConsumerStore> {
  const location = dataDir.startsWith('memory://') ? dataDir : path.resolve(dataDir);
  // Its owner's alone: PGlite writes its files world-readable, and they hold verified payloads.
  if (!location.startsWith('memory://')) mkdirSync(location, { recursive: true, mode: 0o700 });
  const db = await PGlite.create(location);
  try {
    await db.transaction(async (tx) => {
      const upgrading = await inboxLacks(tx, 'subject');
      const unmarked = await inboxLacks(tx, 'waiting');
      await tx.exec(consumerSchemaSql);
      if (upgrading) await upgradeInbox(tx);
      if (unmarked) await holdBackFollowers(tx);
      await redactErasedFromTimeline(tx);
    });
  } catch (error) {
    await db.close();
    throw error;
  }
  return {
    inbox: createInboxStore(db),
    timeline: createTimelineStore(db),
    userData: createUserDataStore(db),
    db,
    close: async () => {
      if (!db.closed) await db.close();
    },
  };
}

/**
 * On every start: the timeline entries about users erased before this version redacted them at
 * their user.deleted (`removeUser`), those recorded before the erasure. Idempotent, and the
 * timeline holds at most a few thousand rows.
 */
async function redactErasedFromTimeline(tx: Transaction): Promise<void> {
  await tx.query(
    `update timeline t set summary = $1, detail = null
     from erased_subjects e
     where (t.subject = e.subject or t.detail->>'userId' = e.subject) and t.at < e.erased_at and t.summary <> $1
       and t.event_type is distinct from 'user.deleted' and t.kind <> 'webhook'`,
    [REDACTED_SUMMARY],
  );
}

/** A data dir from an earlier version: its inbox lacks `column` (it gains it with the schema). */
async function inboxLacks(tx: Transaction, column: 'subject' | 'waiting'): Promise<boolean> {
  const { rows } = await tx.query<{ lacks: boolean }>(
    `select to_regclass('inbox') is not null and not exists (
       select 1 from information_schema.columns
       where table_schema = current_schema() and table_name = 'inbox' and column_name = $1) as lacks`,
    [column],
  );
  return rows[0]?.lacks ?? false;
}

/**
 * Once, when the inbox gains `waiting`: every unfinished job behind an earlier unfinished job of
 * its subject is marked as waiting, as `enqueue` marks a job that arrives behind one.
 */
async function holdBackFollowers(tx: Transaction): Promise<void> {
  await tx.query(
    `update inbox job set waiting = true
     where job.processed_at is null and job.failed_at is null and job.subject is not null
       and exists (select 1 from inbox earlier
                   where earlier.subject = job.subject and earlier.arrival < job.arrival
                     and earlier.processed_at is null and earlier.failed_at is null)`,
  );
}

/**
 * Once, in the same transaction as the new columns: numbers the existing rows
 * in the order they were received, files each under its subject (read from
 * its body), and treats a user.deleted already processed as the erasure it
 * now is, emptying the finished rows of that user.
 */
async function upgradeInbox(tx: Transaction): Promise<void> {
  await tx.query(
    `update inbox set arrival = ordered.n
     from (select webhook_id, row_number() over (order by received_at, arrival) as n from inbox) ordered
     where inbox.webhook_id = ordered.webhook_id`,
  );
  await tx.query(
    `select setval(pg_get_serial_sequence('inbox', 'arrival'), coalesce(max(arrival), 0) + 1, false) from inbox`,
  );
  const { rows } = await tx.query<{ webhook_id: string; body: string }>('select webhook_id, body from inbox');
  for (const row of rows) {
    const subject = inboxSubjectOfBody(row.body);
    if (subject !== null)
      await tx.query('update inbox set subject = $2 where webhook_id = $1', [row.webhook_id, subject]);
  }
  await tx.query(
    `insert into erased_subjects (subject)
     select distinct subject from inbox where type = 'user.deleted' and processed_at is not null and subject is not null
     on conflict (subject) do nothing`,
  );
  await tx.query(
    `update inbox set body = ''
     where subject in (select subject from erased_subjects) and (processed_at is not null or failed_at is not null)`,
  );
}
