import type { PGlite } from '@electric-sql/pglite';

/**
 * What the page shows, in order: `webhook` (a delivery came in), `call` (a
 * follow-up call to the Herald API and how it went), `result` (what the
 * follow-up achieved), `action` (a button on the page acted on the platform),
 * `error` (a failed processing attempt).
 */
export type TimelineKind = 'webhook' | 'call' | 'result' | 'action' | 'error';

export interface TimelineEntryInput {
  kind: TimelineKind;
  eventType?: string | null;
  webhookId?: string | null;
  /** The event's subject and its place in the subject's history, when the delivery carried them. */
  subject?: string | null;
  sequence?: number | null;
  summary: string;
  ok?: boolean;
  detail?: Record<string, unknown> | null;
}

export interface TimelineEntry {
  id: number;
  at: string;
  kind: TimelineKind;
  eventType: string | null;
  webhookId: string | null;
  subject: string | null;
  sequence: number | null;
  summary: string;
  ok: boolean;
  detail: Record<string, unknown> | null;
}

interface TimelineRow {
  id: number;
  at: Date;
  kind: TimelineKind;
  event_type: string | null;
  webhook_id: string | null;
  subject: string | null;
  sequence: number | null;
  summary: string;
  ok: boolean;
  detail: Record<string, unknown> | null;
}

const toEntry = (row: TimelineRow): TimelineEntry => ({
  id: Number(row.id),
  at: row.at.toISOString(),
  kind: row.kind,
  eventType: row.event_type,
  webhookId: row.webhook_id,
  subject: row.subject,
  sequence: row.sequence,
  summary: row.summary,
  ok: row.ok,
  detail: row.detail,
});

/** The timeline only feeds the page, so it keeps a bounded history. */
const TIMELINE_KEEP = 5000;

export function createTimelineStore(db: PGlite) {
  return {
    async append(input: TimelineEntryInput): Promise<TimelineEntry> {
      const { rows } = await db.query<TimelineRow>(
        `insert into timeline (kind, event_type, webhook_id, subject, sequence, summary, ok, detail)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning *`,
        [
          input.kind,
          input.eventType ?? null,
          input.webhookId ?? null,
          input.subject ?? null,
          input.sequence ?? null,
          input.summary,
          input.ok ?? true,
          input.detail ? JSON.stringify(input.detail) : null,
        ],
      );
      return toEntry(rows[0]!);
    },

    /** Entries after `afterId` (oldest first); the latest `limit` ones when `afterId` is null. */
    async list(options: { afterId?: number | null; limit?: number } = {}): Promise<TimelineEntry[]> {
      const limit = options.limit ?? 500;
      const { rows } =
        options.afterId == null
          ? await db.query<TimelineRow>(
              'select * from (select * from timeline order by id desc limit $1) latest order by id',
              [limit],
            )
          : await db.query<TimelineRow>('select * from timeline where id > $1 order by id limit $2', [
              options.afterId,
              limit,
            ]);
      return rows.map(toEntry);
    },

    async prune(): Promise<void> {
      await db.query('delete from timeline where id <= (select max(id) from timeline) - $1', [TIMELINE_KEEP]);
    },
  };
}

export type TimelineStore = ReturnType<typeof createTimelineStore>;
