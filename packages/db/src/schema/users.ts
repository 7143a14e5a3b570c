import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { projects } from './tenancy';

export const userStatuses = ['active', 'locked'] as const;
export type UserStatus = (typeof userStatuses)[number];

export const users = pgTable(
  'users',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    /** Stored lower-cased so uniqueness is case-insensitive. */
    email: text('email').notNull(),
    name: text('name'),
    passwordHash: text('password_hash'),
    roles: text('roles').array().notNull().default(sql`'{}'::text[]`),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    status: text('status', { enum: userStatuses }).notNull().default('active'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('users_project_email_idx').on(t.projectId, t.email),
    index('users_project_id_idx').on(t.projectId, t.id),
    // Only users whose password hash is still a legacy scrypt one: small, and soon empty.
    index('users_legacy_password_idx').on(t.projectId).where(sql`${t.passwordHash} like '$scrypt$%'`),
  ],
);

/**
 * Failed logins per project and key (`account:<email>` or `ip:<address>`),
 * shared by every API process: past the limit a key is blocked until
 * `blocked_until` and its logins answer 429 without a password check.
 */
export const loginThrottles = pgTable(
  'login_throttles',
  {
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    failures: integer('failures').notNull().default(0),
    windowStartedAt: timestamp('window_started_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    blockedUntil: timestamp('blocked_until', { withTimezone: true, mode: 'date' }),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.key] })],
);

/**
 * The addresses a user had before their current one (lower-cased, as `users.email`), kept until the
 * user is deleted: erasure finds the failed logins made with them (and their throttle counts) after
 * payload retention has emptied the user's own events that showed them.
 */
export const userPastEmails = pgTable(
  'user_past_emails',
  {
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull(),
    email: text('email').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.userId, t.email] })],
);
