import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { createInboxStore } from './inbox-store';
import { consumerSchemaSql } from './schema';
import { createTimelineStore } from './timeline-store';
import { createUserDataStore } from './user-data-store';

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
  if (!location.startsWith('memory://')) mkdirSync(location, { recursive: true });
  const db = await PGlite.create(location);
  try {
    await db.exec(consumerSchemaSql);
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
