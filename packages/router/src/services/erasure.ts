import type { Queryable } from '@herald/db';
import { events, executeRows, idempotencyKeys, loginThrottles, userPastEmails, users } from '@herald/db';
import { forgetLaterExcerpts, forgetResponseExcerpts } from '@herald/delivery';
import { erasedEventData } from '@herald/events';
import { and, asc, eq, gt, inArray, isNull, ne, or, type SQL, sql } from 'drizzle-orm';

/**
 * The status an idempotent answer keeps once erasure removed its body (it showed a deleted user):
 * a retry with its key answers 409 `conflict` instead of running again.
 */
export const ERASED_ANSWER_STATUS = 409;

/**
 * How a stored answer shows a user's personal data: an address of theirs as JSON writes it
 * (`"email":"…"`, not an address that merely starts the same). Every answer that shows a user
 * (a snapshot, an event about them) shows their address. What the request that erases tells the
 * HTTP layer about its own answer (its record is written after the procedure:
 * `ApiServices.erasedFromAnswer`): the delete's own answer, `{ "id", "deleted" }`, shows only the
 * id, which erasure keeps, and is replayed as it is.
 */
export function erasedAddressMarks(emails: readonly string[]): string[] {
  return emails.map((email) => `"email":${JSON.stringify(email)}`);
}

/**
 * How a stored answer refers to a user: their id (`"id":"usr_…"`, not an id inside someone's
 * metadata) or an address (`erasedAddressMarks`). The records stored before the erasure that show
 * either lose their body: an answer with the id was about them (a create's, an update's).
 */
function erasedAnswerMarks(userId: string, emails: readonly string[]): string[] {
  return [`"id":${JSON.stringify(userId)}`, ...erasedAddressMarks(emails)];
}

/** Rows read and rewritten per statement: bounds memory for a user with a long history. */
const BATCH = 500;

/**
 * Erases a deleted user's personal data from the project's stored events,
 * inside the caller's transaction: every event whose subject is the user,
 * and failed logins of no known user that were made with any address the
 * user had; the login throttle's counts kept under those addresses; and the bodies of stored
 * idempotent answers that show the user (a create's answer holds their email), which would
 * otherwise stay until their key expires (24 h).
 * Each payload is rewritten by its catalog definition (`erasedEventData`),
 * so it keeps its id, type, version, timestamps and a shape valid for its
 * schema. Webhook bodies are built from the stored event when they are sent,
 * so deliveries still queued carry the erased data too. The receivers' answers logged for
 * those events' deliveries are cleared. Returns how many events were rewritten.
 */
export async function eraseUserFromEvents(
  tx: Queryable,
  input: { projectId: string; userId: string; email: string },
  /** Told how an answer shows the user (`erasedAnswerMarks`): the running request's own answer may. */
  erasedFromAnswer?: (marks: string[]) => void,
): Promise<number> {
  // Every address the user had: failed logins with an earlier address carry it too. Kept apart
  // since the address changed (`user_past_emails`, removed here), and shown by their own events
  // (read before they are erased) unless payload retention emptied those.
  const past = await tx
    .delete(userPastEmails)
    .where(and(eq(userPastEmails.projectId, input.projectId), eq(userPastEmails.userId, input.userId)))
    .returning({ email: userPastEmails.email });
  const earlier = await executeRows<{ email: string }>(
    tx,
    sql`select distinct lower(${events.data} -> 'user' ->> 'email') as email from ${events}
        where ${events.projectId} = ${input.projectId} and ${events.subject} = ${input.userId}
          and ${events.data} -> 'user' ->> 'email' is not null`,
  );
  const had = [...new Set([input.email.toLowerCase(), ...[...past, ...earlier].map((r) => r.email)])];
  // An earlier address another user of the project holds now is theirs: their failed logins,
  // their throttle counts (a brute-force guard) and their answers stay.
  const held = await tx
    .select({ email: users.email })
    .from(users)
    .where(and(eq(users.projectId, input.projectId), inArray(users.email, had), ne(users.id, input.userId)));
  const emails = had.filter((email) => !held.some((other) => other.email === email));
  // Their throttle counts are keyed by address: personal data too, and of no use any more.
  await tx.delete(loginThrottles).where(
    and(
      eq(loginThrottles.projectId, input.projectId),
      inArray(
        loginThrottles.key,
        emails.map((email) => `account:${email}`),
      ),
    ),
  );
  // Stored idempotent answers that show the user lose their body, not their record: the key
  // still never runs twice, and a retry answers 409. This request's own answer is stored after
  // it (a keyed tRPC batch that updates, then deletes the user): the HTTP layer is told.
  const marks = erasedAnswerMarks(input.userId, emails);
  erasedFromAnswer?.(erasedAddressMarks(emails));
  await tx
    .update(idempotencyKeys)
    .set({ responseBody: null, responseStatus: ERASED_ANSWER_STATUS })
    .where(
      and(
        eq(idempotencyKeys.projectId, input.projectId),
        eq(idempotencyKeys.status, 'completed'),
        or(...marks.map((mark) => sql`position(${mark} in ${idempotencyKeys.responseBody}) > 0`)),
      ),
    );
  // Two sources, each read in id order from where its last batch ended, each by an index that holds
  // that order (events_project_subject_id_idx, events_failed_login_email_idx): as one OR, every batch
  // read and sorted all that was left of both (17 s for a user with 100,000 events).
  const sources = [
    eq(events.subject, input.userId),
    ...(emails.length > 0
      ? [
          and(
            isNull(events.subject),
            eq(events.type, 'user.login.failed'),
            inArray(sql`lower(${events.data} ->> 'email')`, emails),
          ),
        ]
      : []),
  ];
  let rewritten = 0;
  const erased: string[] = [];
  for (const aboutUser of sources) {
    let afterId: string | null = null;
    for (;;) {
      const rows: { id: string; type: string; version: number; data: unknown; expired: boolean }[] = await tx
        .select({
          id: events.id,
          type: events.type,
          version: events.version,
          data: events.data,
          expired: sql<boolean>`${events.payloadExpiredAt} is not null`,
        })
        .from(events)
        .where(and(eq(events.projectId, input.projectId), aboutUser, afterId ? gt(events.id, afterId) : undefined))
        .orderBy(asc(events.id))
        .limit(BATCH)
        // The events first, then their attempts' excerpts (below), then the events again: the order
        // payload retention takes them in (payload-expiry.ts), which skips what this holds. In the
        // other order the two deadlocked, and a whole retention run was rolled back.
        .for('update');
      const ids = rows.map((row) => row.id);
      erased.push(...ids);
      await forgetResponseExcerpts(tx, input.projectId, ids);
      // A payload past payload retention is already gone (`{}`, which no event schema accepts).
      const changed = rows.flatMap((row) => {
        if (row.expired) return [];
        const data = erasedEventData(row.type, row.version, row.data);
        return JSON.stringify(data) === JSON.stringify(row.data) ? [] : [{ id: row.id, data }];
      });
      if (changed.length > 0) rewritten += await rewriteData(tx, input.projectId, changed);
      if (rows.length < BATCH) break;
      afterId = rows.at(-1)!.id;
    }
  }
  await forgetLaterExcerpts(tx, input.projectId, erased);
  return rewritten;
}

/** One UPDATE for a batch: the new payloads travel as one JSON parameter. */
async function rewriteData(tx: Queryable, projectId: string, rows: { id: string; data: unknown }[]): Promise<number> {
  const query: SQL = sql`
    update ${events} as e set data = v.data
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as v(id text, data jsonb)
    where e.id = v.id and e.project_id = ${projectId}
    returning e.id`;
  return (await executeRows(tx, query)).length;
}
