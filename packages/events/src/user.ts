import { z } from 'zod';
import { defineEvent } from './define-event';
import { isoTimestampSchema, nonEmptyIdSchema } from './shared';

export const userStatusSchema = z.enum(['active', 'locked']);

/**
 * The public view of a user as carried in events. There is deliberately no
 * password (or hash) field, and because zod objects strip unknown keys,
 * parsing a user record that still carries one drops it rather than
 * forwarding it to a webhook endpoint.
 */
export const userSnapshotSchema = z
  .object({
    id: nonEmptyIdSchema,
    email: z.email(),
    name: z.string().nullable(),
    roles: z.array(z.string()),
    metadata: z.record(z.string(), z.unknown()),
    status: userStatusSchema,
    createdAt: isoTimestampSchema,
    updatedAt: isoTimestampSchema,
  })
  .describe("The user's public state when the event happened; never includes credentials.");

export type UserSnapshot = z.output<typeof userSnapshotSchema>;

export const userChangedFieldSchema = z.enum(['email', 'name', 'roles', 'metadata', 'status']);

export const loginFailureReasonSchema = z.enum(['invalid_password', 'unknown_user', 'user_locked']);

const exampleUser: UserSnapshot = {
  // A well-formed user id (@herald/db `newId('user')`, minted at createdAt): consumers of a test delivery
  // look it up, and a malformed one answers 400 validation_error where a real id gone answers 404.
  id: 'usr_01jhmmrqe0zedg4w0z64pn0jwk',
  email: 'ada@example.com',
  name: 'Ada Lovelace',
  roles: ['admin'],
  metadata: { plan: 'pro' },
  status: 'active',
  createdAt: '2025-01-15T09:30:00.000Z',
  updatedAt: '2025-01-15T09:30:00.000Z',
};

/**
 * What an erased email address reads as: a valid address (the schemas
 * require one) under the reserved `.invalid` top-level domain, so it can
 * never reach anyone.
 */
export const ERASED_EMAIL = 'erased@erased.invalid';

/** The snapshot once its user is erased: id, roles, status and timestamps stay; email, name and metadata go. */
function erasedSnapshot(user: UserSnapshot): UserSnapshot {
  return { ...user, email: ERASED_EMAIL, name: null, metadata: {} };
}

/** A login event once its user is erased: the submitted email, the address and the user agent go. */
function erasedLogin<T extends { email: string; ipAddress: string | null; userAgent: string | null }>(data: T): T {
  return { ...data, email: ERASED_EMAIL, ipAddress: null, userAgent: null };
}

const ipAddressSchema = z.string().nullable().describe('Client IP address as seen by the API, or null when unknown.');

const userAgentSchema = z.string().nullable().describe('User-Agent header, or null when absent.');

export const userCreatedV1 = defineEvent({
  type: 'user.created',
  version: 1,
  description: 'A user account was created.',
  schema: z.object({ user: userSnapshotSchema }),
  example: { user: exampleUser },
  subject: (data) => data.user.id,
  erase: (data) => ({ ...data, user: erasedSnapshot(data.user) }),
});

export const userUpdatedV1 = defineEvent({
  type: 'user.updated',
  version: 1,
  description: "A user's profile, roles, metadata or status changed.",
  schema: z.object({
    user: userSnapshotSchema,
    changedFields: z
      .array(userChangedFieldSchema)
      .min(1)
      .describe('Which snapshot fields differ from before the update.'),
  }),
  example: {
    user: {
      ...exampleUser,
      name: 'Ada King',
      roles: ['admin', 'billing'],
      updatedAt: '2025-02-01T14:05:00.000Z',
    },
    changedFields: ['name', 'roles'],
  },
  subject: (data) => data.user.id,
  erase: (data) => ({ ...data, user: erasedSnapshot(data.user) }),
});

/** Recorded until v2; stored v1 events are erased like the other snapshots. */
export const userDeletedV1 = defineEvent({
  type: 'user.deleted',
  version: 1,
  description: 'A user account was deleted; the snapshot is its state at deletion.',
  schema: z.object({ user: userSnapshotSchema }),
  example: { user: { ...exampleUser, updatedAt: '2025-03-10T08:00:00.000Z' } },
  subject: (data) => data.user.id,
  erase: (data) => ({ ...data, user: erasedSnapshot(data.user) }),
});

/**
 * Only the id: a deleted user's personal data is erased from Herald, so the
 * event announcing it must not carry that data to every endpoint.
 */
export const userDeletedV2 = defineEvent({
  type: 'user.deleted',
  version: 2,
  description: "A user account was deleted and its personal data erased from Herald's events.",
  schema: z.object({ user: z.object({ id: nonEmptyIdSchema }).describe('The deleted user: only its id.') }),
  example: { user: { id: exampleUser.id } },
  subject: (data) => data.user.id,
});

export const userPasswordChangedV1 = defineEvent({
  type: 'user.password.changed',
  version: 1,
  description: 'A user changed their password (the password itself is never sent).',
  schema: z.object({ userId: nonEmptyIdSchema, changedAt: isoTimestampSchema }),
  example: { userId: exampleUser.id, changedAt: '2025-02-20T17:45:12.000Z' },
  subject: (data) => data.userId,
});

export const userLoginSucceededV1 = defineEvent({
  type: 'user.login.succeeded',
  version: 1,
  description: 'A user signed in successfully.',
  schema: z.object({
    userId: nonEmptyIdSchema,
    email: z.email(),
    ipAddress: ipAddressSchema,
    userAgent: userAgentSchema,
  }),
  example: {
    userId: exampleUser.id,
    email: exampleUser.email,
    ipAddress: '203.0.113.7',
    userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15',
  },
  subject: (data) => data.userId,
  erase: erasedLogin,
});

export const userLoginFailedV1 = defineEvent({
  type: 'user.login.failed',
  version: 1,
  description: 'A sign-in attempt was rejected.',
  schema: z.object({
    userId: nonEmptyIdSchema.nullable().describe('The matching user, or null when no user has the submitted email.'),
    // Whatever was typed into the login form, so it need not be a valid address.
    email: z.string().describe('The email address submitted with the attempt.'),
    ipAddress: ipAddressSchema,
    userAgent: userAgentSchema,
    reason: loginFailureReasonSchema,
  }),
  example: {
    userId: exampleUser.id,
    email: exampleUser.email,
    ipAddress: '198.51.100.23',
    userAgent: 'curl/8.7.1',
    reason: 'invalid_password',
  },
  subject: (data) => data.userId,
  erase: erasedLogin,
});
