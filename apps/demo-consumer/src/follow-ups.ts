import type { HeraldClient } from '@herald/client';
import type { HandledEvent, HeraldEventEnvelope, HeraldUser } from './herald-event';
import { errorMessage, heraldErrorCode, parseEnvelope, readHandledEvent } from './herald-event';
import type { LiveTimeline } from './live-timeline';
import type { InboxJob, TimelineEntryInput, UserDataStore } from './store';

/** When repeated failed logins lock a user. */
export interface LockPolicy {
  /** Failures within the window that lock the user. */
  threshold: number;
  windowSeconds: number;
}

export const defaultLockPolicy: LockPolicy = { threshold: 3, windowSeconds: 15 * 60 };

export interface FollowUpDependencies {
  heraldClient: HeraldClient;
  userData: UserDataStore;
  timeline: LiveTimeline;
  lockPolicy: LockPolicy;
}

/** One job's view: every entry it records is tied to its webhook. */
interface JobContext extends FollowUpDependencies {
  webhookId: string;
  eventType: string;
  eventTime: Date;
  note(entry: Omit<TimelineEntryInput, 'webhookId' | 'eventType'>): Promise<void>;
}

/**
 * Runs the follow-up for one stored delivery, unless its subject already had
 * a newer event applied, or was deleted (then it is recorded as skipped). It may run again for the same
 * delivery (a crash after the work but before the job was marked done), so
 * every step is safe to repeat: stores are keyed by webhook-id or upserted,
 * and API changes are skipped when already in place.
 * Throws on transient failures (network, 5xx) so the worker retries.
 */
export async function runFollowUp(job: InboxJob, dependencies: FollowUpDependencies): Promise<void> {
  const envelope = parseEnvelope(job.body);
  const context: JobContext = {
    ...dependencies,
    webhookId: job.webhookId,
    eventType: job.type,
    eventTime: validDate(envelope?.timestamp) ?? job.receivedAt,
    note: async (entry) => {
      await dependencies.timeline.record({
        ...entry,
        webhookId: job.webhookId,
        eventType: job.type,
        subject: envelope?.subject ?? null,
        sequence: envelope?.sequence ?? null,
      });
    },
  };
  const { subject, sequence } = envelope ?? {};
  if (subject !== undefined && sequence !== undefined) {
    // One worker runs one job at a time, so nothing applies this subject between the check and the mark.
    const lastApplied = await dependencies.userData.lastAppliedSequence(subject);
    if (lastApplied !== null && sequence <= lastApplied) {
      // A late event is history already overwritten (a user.updated after the user.deleted): applying it would undo newer state.
      return context.note({
        kind: 'result',
        summary: `skipped, stale: sequence ${sequence} after ${lastApplied}`,
        detail: { skipped: true, subject, sequence, lastApplied },
      });
    }
  }
  // A user.deleted runs again (removal is safe to repeat); anything else would bring the user's data back.
  if (job.subject !== null && job.type !== 'user.deleted' && (await dependencies.userData.isErased(job.subject))) {
    return context.note({
      kind: 'result',
      summary: `skipped: ${job.subject} was deleted, nothing is kept about them`,
      detail: { skipped: true, subject: job.subject, deleted: true },
    });
  }
  await applyEvent(envelope, context);
  // After the work: a crash in between runs the job again, which every follow-up tolerates.
  if (subject !== undefined && sequence !== undefined) {
    await dependencies.userData.markSequenceApplied(subject, sequence);
  }
}

async function applyEvent(envelope: HeraldEventEnvelope | null, context: JobContext): Promise<void> {
  const event = envelope ? readHandledEvent(envelope) : 'malformed';
  if (event === 'malformed') {
    // Retrying cannot fix a payload, so the job ends here, visibly.
    return context.note({
      kind: 'result',
      ok: false,
      summary: `ignored: the payload does not match ${context.eventType}`,
    });
  }
  if (event === null) return context.note({ kind: 'result', summary: `no follow-up for ${context.eventType}` });
  // TypeScript cannot relate the union member to its handler's parameter, hence the cast.
  return followUps[event.type](event as never, context);
}

type FollowUps = {
  [T in HandledEvent['type']]: (event: Extract<HandledEvent, { type: T }>, context: JobContext) => Promise<void>;
};

const followUps: FollowUps = {
  async 'user.created'(event, context) {
    await context.userData.upsertUser(event.user);
    const user = await getUserOrNull(context, event.user.id);
    if (!user) return;
    await context.userData.upsertUser(user);
    // Skipping an update that changes nothing also keeps the user.updated webhook from looping.
    if (user.roles.includes('member')) {
      return context.note({ kind: 'result', summary: 'role member already present', detail: { userId: user.id } });
    }
    const updated = await callApi(context, `users.update ${user.id} roles + member`, () =>
      context.heraldClient.users.update.mutate({ id: user.id, roles: [...user.roles, 'member'] }),
    ).catch((error) => ifNotFound(error, null));
    if (!updated) return userGone(context, user.id);
    await context.userData.upsertUser(updated);
    await context.note({
      kind: 'result',
      summary: 'role member assigned',
      detail: { userId: user.id, roles: updated.roles },
    });
  },

  async 'user.updated'(event, context) {
    await context.userData.upsertUser(event.user);
    const statusChanged = event.changedFields.includes('status');
    if (statusChanged && event.user.status === 'locked') {
      return context.note({
        kind: 'result',
        summary: 'user locked (confirmed by user.updated)',
        detail: { userId: event.user.id },
      });
    }
    if (statusChanged && event.user.status === 'active') {
      // An unlock starts a fresh count.
      await context.userData.clearLoginFailures(event.user.id, context.eventTime);
    }
    await context.note({
      kind: 'result',
      summary: `local copy updated (${event.changedFields.join(', ') || 'no fields listed'})`,
      detail: { userId: event.user.id, changedFields: event.changedFields },
    });
  },

  async 'user.login.failed'(event, context) {
    if (!event.userId) {
      return context.note({ kind: 'result', summary: `failed login for unknown email ${event.email}: not counted` });
    }
    const { threshold, windowSeconds } = context.lockPolicy;
    await context.userData.recordLoginFailure({
      webhookId: context.webhookId,
      userId: event.userId,
      failedAt: context.eventTime,
    });
    // Counted on event times, not processing time, so a backlog (or a restart) decides the same way.
    const windowStart = new Date(context.eventTime.getTime() - windowSeconds * 1000);
    const failures = await context.userData.countLoginFailures(event.userId, windowStart, context.eventTime);
    const detail = { userId: event.userId, failures, threshold, windowSeconds };
    if (failures < threshold) {
      return context.note({
        kind: 'result',
        summary: `login failure ${failures} of ${threshold} within ${windowSeconds} s`,
        detail,
      });
    }
    const user = await getUserOrNull(context, event.userId);
    if (!user) return;
    if (user.status === 'locked') return context.note({ kind: 'result', summary: 'user already locked', detail });
    const locked = await callApi(context, `users.update ${user.id} status = locked`, () =>
      context.heraldClient.users.update.mutate({ id: user.id, status: 'locked' }),
    ).catch((error) => ifNotFound(error, null));
    if (!locked) return userGone(context, user.id);
    await context.userData.upsertUser(locked);
    await context.note({ kind: 'result', summary: `user locked after ${failures} failed logins`, detail });
  },

  async 'user.password.changed'(event, context) {
    // The API gives the address to warn; the local copy is the fallback.
    const user = await getUserOrNull(context, event.userId, { quiet: true });
    const email = user?.email ?? (await context.userData.getUser(event.userId))?.email ?? null;
    await context.userData.recordSecurityNotice({
      webhookId: context.webhookId,
      userId: event.userId,
      email,
      message: `Your password was changed at ${event.changedAt}. If this was not you, contact support.`,
    });
    await context.note({
      kind: 'result',
      summary: `security notice recorded${email ? ` for ${email}` : ''}`,
      detail: { userId: event.userId, changedAt: event.changedAt },
    });
  },

  async 'user.deleted'(event, context) {
    const removed = await context.userData.removeUser(event.userId, { erase: true });
    await context.note({
      kind: 'result',
      summary: `local data removed (${removed} rows)`,
      detail: { userId: event.userId, removed },
    });
  },
};

/** A follow-up call to the Herald API, recorded with its outcome and duration. */
async function callApi<T>(context: JobContext, description: string, call: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const elapsed = () => `${Math.round(performance.now() - started)} ms`;
  try {
    const value = await call();
    await context.note({ kind: 'call', summary: `${description} → ok (${elapsed()})` });
    return value;
  } catch (error) {
    const code = heraldErrorCode(error) ?? 'failed';
    await context.note({
      kind: 'call',
      ok: false,
      summary: `${description} → ${code} (${elapsed()}): ${errorMessage(error)}`,
    });
    throw error;
  }
}

/** `users.get`, with "the user was deleted meanwhile" as an answer rather than an error. */
async function getUserOrNull(
  context: JobContext,
  userId: string,
  options: { quiet?: boolean } = {},
): Promise<HeraldUser | null> {
  const user = await callApi(context, `users.get ${userId}`, () =>
    context.heraldClient.users.get.query({ id: userId }),
  ).catch((error) => ifNotFound(error, null));
  if (!user && !options.quiet) await userGone(context, userId);
  return user;
}

function ifNotFound<T>(error: unknown, fallback: T): T {
  if (heraldErrorCode(error) === 'not_found') return fallback;
  throw error;
}

async function userGone(context: JobContext, userId: string): Promise<void> {
  await context.userData.removeUser(userId);
  await context.note({ kind: 'result', summary: 'user no longer exists: nothing to do', detail: { userId } });
}

function validDate(value: string | undefined): Date | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}
