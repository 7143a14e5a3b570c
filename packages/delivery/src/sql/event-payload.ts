import type { Queryable } from '@herald/db';
import { executeRows } from '@herald/db';
import { sql } from 'drizzle-orm';

/** An event's payload now, as a claim reads it (`claimedColumns`). */
export interface EventPayload {
  /** `data::text`, spliced into the envelope as it is (see MessageEvent.dataJson). */
  dataJson: string;
  /** Cleared by payload retention: never sent. */
  expired: boolean;
}

/** The event's payload now (an erasure may have rewritten it since a claim read it); null once it is gone. */
export async function readEventPayload(db: Queryable, eventId: string): Promise<EventPayload | null> {
  const [row] = await executeRows<{ data_json: string; expired: boolean }>(
    db,
    sql`select e.data::text as data_json, e.payload_expired_at is not null as expired
        from events e where e.id = ${eventId}`,
  );
  return row ? { dataJson: row.data_json, expired: row.expired } : null;
}
