import type { PGlite } from '@electric-sql/pglite';

/** The consumer's own copy of a Herald user: only what this backend needs. */
export interface LocalUser {
  userId: string;
  email: string;
  roles: string[];
  status: string;
  updatedAt: Date;
}

export interface SecurityNotice {
  webhookId: string;
  userId: string;
  email: string | null;
  message: string;
  createdAt: Date;
}

/**
 * Per-user data the follow-ups keep: local copies, login failures, security
 * notices, the deliveries stored in the inbox, and the last sequence applied
 * per subject (which `removeUser` keeps on purpose: it is an id and a number,
 * and it outlives the user so a late event cannot recreate them; so does the
 * id of an erased subject).
 */
/** What a timeline entry about a deleted user says once the user's user.deleted was applied. */
export const REDACTED_SUMMARY = 'details removed: the user was deleted';

export function createUserDataStore(db: PGlite) {
  return {
    /** Keeps the newer snapshot when deliveries arrive out of order. */
    async upsertUser(user: { id: string; email: string; roles: string[]; status: string; updatedAt: string }) {
      await db.query(
        `insert into local_users (user_id, email, roles, status, updated_at) values ($1, $2, $3, $4, $5)
         on conflict (user_id) do update
           set email = excluded.email, roles = excluded.roles, status = excluded.status,
               updated_at = excluded.updated_at, synced_at = now()
           where local_users.updated_at <= excluded.updated_at`,
        [user.id, user.email, JSON.stringify(user.roles), user.status, new Date(user.updatedAt)],
      );
    },

    async getUser(userId: string): Promise<LocalUser | null> {
      const { rows } = await db.query<{
        user_id: string;
        email: string;
        roles: string[];
        status: string;
        updated_at: Date;
      }>('select * from local_users where user_id = $1', [userId]);
      const row = rows[0];
      return row
        ? { userId: row.user_id, email: row.email, roles: row.roles, status: row.status, updatedAt: row.updated_at }
        : null;
    },

    /** The last sequence applied for a subject; null when none was (or its events carry no sequence). */
    async lastAppliedSequence(subject: string): Promise<number | null> {
      const { rows } = await db.query<{ sequence: number }>(
        'select sequence from applied_sequences where subject = $1',
        [subject],
      );
      return rows[0]?.sequence ?? null;
    },

    /** Only ever moves forward, so recording an older sequence again changes nothing. */
    async markSequenceApplied(subject: string, sequence: number): Promise<void> {
      await db.query(
        `insert into applied_sequences (subject, sequence) values ($1, $2)
         on conflict (subject) do update set sequence = excluded.sequence, applied_at = now()
           where applied_sequences.sequence < excluded.sequence`,
        [subject, sequence],
      );
    },

    /** Keyed by webhook-id, so processing the same delivery again counts it once. */
    async recordLoginFailure(input: { webhookId: string; userId: string; failedAt: Date }): Promise<void> {
      await db.query(
        'insert into login_failures (webhook_id, user_id, failed_at) values ($1, $2, $3) ' +
          'on conflict (webhook_id) do nothing',
        [input.webhookId, input.userId, input.failedAt],
      );
    },

    /** Failures in (since, until]: judged on event times, so late processing counts the same. */
    async countLoginFailures(userId: string, since: Date, until: Date): Promise<number> {
      const { rows } = await db.query<{ count: number }>(
        'select count(*)::int as count from login_failures where user_id = $1 and failed_at > $2 and failed_at <= $3',
        [userId, since, until],
      );
      return rows[0]?.count ?? 0;
    },

    async clearLoginFailures(userId: string, upTo: Date): Promise<void> {
      await db.query('delete from login_failures where user_id = $1 and failed_at <= $2', [userId, upTo]);
    },

    async recordSecurityNotice(input: { webhookId: string; userId: string; email: string | null; message: string }) {
      await db.query(
        `insert into security_notices (webhook_id, user_id, email, message) values ($1, $2, $3, $4)
         on conflict (webhook_id) do nothing`,
        [input.webhookId, input.userId, input.email, input.message],
      );
    },

    async securityNotices(userId: string): Promise<SecurityNotice[]> {
      const { rows } = await db.query<{
        webhook_id: string;
        user_id: string;
        email: string | null;
        message: string;
        created_at: Date;
      }>('select * from security_notices where user_id = $1 order by created_at', [userId]);
      return rows.map((row) => ({
        webhookId: row.webhook_id,
        userId: row.user_id,
        email: row.email,
        message: row.message,
        createdAt: row.created_at,
      }));
    },

    /**
     * Everything this backend holds about the user, in one transaction: its rows, and the
     * bodies of the user's finished inbox jobs (the row stays, emptied, so a redelivery is
     * still a duplicate). With `erase` (user.deleted) the user is also recorded as erased:
     * from then on their jobs are not applied, and each keeps no body once done (the job
     * running now, and those still to come, are emptied as they finish).
     */
    async removeUser(userId: string, options: { erase?: boolean } = {}): Promise<number> {
      return db.transaction(async (tx) => {
        if (options.erase) {
          await tx.query('insert into erased_subjects (subject) values ($1) on conflict (subject) do nothing', [
            userId,
          ]);
        }
        let removed = 0;
        for (const table of ['local_users', 'login_failures', 'security_notices']) {
          const result = await tx.query(`delete from ${table} where user_id = $1`, [userId]);
          removed += result.affectedRows ?? 0;
        }
        const emptied = await tx.query(
          `update inbox set body = ''
           where subject = $1 and body <> '' and (processed_at is not null or failed_at is not null)`,
          [userId],
        );
        if (options.erase) {
          // The page's entries about the user (their email in a summary, in a detail): what happened
          // stays (kind, event type, webhook id, sequence), what it said about them goes. Display
          // entries, not the user's rows: not counted. A webhook's own entry says only how it was
          // received (verified, duplicate, its event id): kept whole.
          await tx.query(
            `update timeline set summary = $2, detail = null
             where (subject = $1 or detail->>'userId' = $1) and summary <> $2
               and event_type is distinct from 'user.deleted' and kind <> 'webhook'`,
            [userId, REDACTED_SUMMARY],
          );
        }
        return removed + (emptied.affectedRows ?? 0);
      });
    },

    /** Whether the subject's user.deleted was applied: nothing of theirs is applied any more. */
    async isErased(subject: string): Promise<boolean> {
      const { rows } = await db.query('select 1 from erased_subjects where subject = $1', [subject]);
      return rows.length > 0;
    },

    /**
     * How many rows hold data about the user, inbox jobs that still have their body included
     * (tests and the page use it to show removal). The ids kept on purpose are not counted.
     */
    async countRowsFor(userId: string): Promise<number> {
      const { rows } = await db.query<{ count: number }>(
        `select ((select count(*) from local_users where user_id = $1)
               + (select count(*) from login_failures where user_id = $1)
               + (select count(*) from security_notices where user_id = $1)
               + (select count(*) from inbox where subject = $1 and body <> ''))::int as count`,
        [userId],
      );
      return rows[0]?.count ?? 0;
    },
  };
}

export type UserDataStore = ReturnType<typeof createUserDataStore>;
