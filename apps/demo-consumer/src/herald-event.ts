import type { HeraldClient } from '@herald/client';
import type { AnyEvent } from '@herald/events';
import { subjectOf } from '@herald/events';

/** A Herald user as the API returns it and as webhooks carry it (`UserSnapshot`). */
export type HeraldUser = Awaited<ReturnType<HeraldClient['users']['get']['query']>>;

/**
 * The envelope every Herald webhook body has, from the event catalog. `type`
 * stays a plain string and `data` a plain record: a consumer must accept event
 * types and fields added after it was written.
 */
export type HeraldEventEnvelope = Pick<AnyEvent, 'id' | 'timestamp'> & {
  type: string;
  version: number;
  /** The resource the event is about (the user's id for `user.*`). Absent on older events. */
  subject?: string;
  /** 1, 2, 3, … per subject in commit order; only read together with `subject`. Absent on older events. */
  sequence?: number;
  data: Record<string, unknown>;
};

/** The event types this consumer acts on, with the parts of `data` it reads. */
export type HandledEvent =
  | { type: 'user.created'; user: HeraldUser }
  | { type: 'user.updated'; user: HeraldUser; changedFields: string[] }
  /** Only the id: Herald erases a deleted user's personal data (v1 carried the snapshot; the id reads the same). */
  | { type: 'user.deleted'; userId: string }
  | { type: 'user.password.changed'; userId: string; changedAt: string }
  | { type: 'user.login.failed'; userId: string | null; email: string; reason: string };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isString = (value: unknown): value is string => typeof value === 'string';
const isPositiveInteger = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) > 0;

/** Parses the outer envelope; null when the body is not a Herald event. */
export function parseEnvelope(body: string): HeraldEventEnvelope | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  if (!isRecord(parsed) || !isString(parsed.id) || !isString(parsed.type) || !isString(parsed.timestamp)) return null;
  if (!isRecord(parsed.data) || typeof parsed.version !== 'number') return null;
  // Absent (or unusable) on events recorded before sequences existed: then the event is simply not ordered.
  const subject = isString(parsed.subject) && parsed.subject !== '' ? parsed.subject : null;
  // A sequence means nothing without the subject it counts.
  const sequence = subject !== null && isPositiveInteger(parsed.sequence) ? parsed.sequence : null;
  return {
    id: parsed.id,
    type: parsed.type,
    version: parsed.version,
    timestamp: parsed.timestamp,
    ...(subject === null ? {} : { subject }),
    ...(sequence === null ? {} : { sequence }),
    data: parsed.data,
  };
}

/**
 * Whose event this is, as the inbox files it: the envelope's `subject`, or for
 * an older event without one, what the catalog names as its subject (the
 * user's id for `user.*`). Null when neither says (an unknown type, a failed
 * login for an unknown email).
 */
export function inboxSubject(envelope: Pick<HeraldEventEnvelope, 'type' | 'version' | 'subject' | 'data'>) {
  if (envelope.subject) return envelope.subject;
  try {
    return subjectOf(envelope.type, envelope.data, envelope.version) || null;
  } catch {
    // The catalog reads data that passed its schema; an odd payload simply has no subject.
    return null;
  }
}

/** `inboxSubject` of a stored body; null when the body is not a Herald event. */
export function inboxSubjectOfBody(body: string): string | null {
  const envelope = parseEnvelope(body);
  return envelope ? inboxSubject(envelope) : null;
}

function asUser(value: unknown): HeraldUser | null {
  if (!isRecord(value) || !isString(value.id) || !isString(value.email) || !isString(value.status)) return null;
  if (!Array.isArray(value.roles) || !value.roles.every(isString) || !isString(value.updatedAt)) return null;
  return value as unknown as HeraldUser;
}

/**
 * The data this consumer needs, checked loosely: unknown fields are ignored
 * (payloads may gain fields within a version). Returns `null` for types this
 * consumer does not act on, and `'malformed'` when a handled type lacks a field.
 */
export function readHandledEvent(envelope: HeraldEventEnvelope): HandledEvent | 'malformed' | null {
  const { data } = envelope;
  switch (envelope.type) {
    case 'user.created': {
      const user = asUser(data.user);
      return user ? { type: 'user.created', user } : 'malformed';
    }
    case 'user.deleted': {
      const userId = isRecord(data.user) ? data.user.id : undefined;
      return isString(userId) ? { type: 'user.deleted', userId } : 'malformed';
    }
    case 'user.updated': {
      const user = asUser(data.user);
      const changedFields = Array.isArray(data.changedFields) ? data.changedFields.filter(isString) : [];
      return user ? { type: 'user.updated', user, changedFields } : 'malformed';
    }
    case 'user.password.changed':
      return isString(data.userId) && isString(data.changedAt)
        ? { type: 'user.password.changed', userId: data.userId, changedAt: data.changedAt }
        : 'malformed';
    case 'user.login.failed':
      return (data.userId === null || isString(data.userId)) && isString(data.email)
        ? {
            type: 'user.login.failed',
            userId: data.userId,
            email: data.email,
            reason: isString(data.reason) ? data.reason : 'unknown',
          }
        : 'malformed';
    default:
      return null;
  }
}

/** The Herald error code of a failed tRPC call (`not_found`, `invalid_credentials`…), if any. */
export function heraldErrorCode(error: unknown): string | null {
  const data = isRecord(error) ? error.data : undefined;
  const herald = isRecord(data) ? data.herald : undefined;
  if (isRecord(herald) && isString(herald.code)) return herald.code;
  return isRecord(data) && isString(data.code) ? data.code.toLowerCase() : null;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
