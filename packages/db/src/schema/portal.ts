import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { apiKeys, projects } from './tenancy';

export const portalSessionKinds = ['project', 'operator'] as const;
export type PortalSessionKind = (typeof portalSessionKinds)[number];

/**
 * Single-use links into the portal, minted by `POST /v1/portal-sessions`.
 * Only the SHA-256 of the link's token is stored: the table never holds
 * anything that opens the portal. Opening a link sets `usedAt` (once).
 */
export const portalLinks = pgTable(
  'portal_links',
  {
    tokenHash: text('token_hash').primaryKey(),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    /** The API key that minted it: once that key is revoked the link no longer opens (null: minted before 0012). */
    apiKeyId: text('api_key_id').references(() => apiKeys.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [index('portal_links_expires_idx').on(t.expiresAt)],
);

/**
 * Browser sessions of the portal (the HttpOnly cookie's token, hashed). A
 * project session sees one project; an operator session (admin token
 * sign-in) has no project and sees the operator view only.
 */
export const portalSessions = pgTable(
  'portal_sessions',
  {
    tokenHash: text('token_hash').primaryKey(),
    kind: text('kind', { enum: portalSessionKinds }).notNull(),
    projectId: text('project_id').references(() => projects.id, { onDelete: 'cascade' }),
    /** A project session: the API key whose link opened it; it ends when that key is revoked. */
    apiKeyId: text('api_key_id').references(() => apiKeys.id, { onDelete: 'cascade' }),
    /**
     * An operator session: a tag of the admin token it signed in with (never the token). Once the
     * token changes, or none is configured, the session no longer holds.
     */
    operatorTokenTag: text('operator_token_tag'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    /** Signed out: set once, and checked as set or not, so no API process's clock decides it. */
    endedAt: timestamp('ended_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [index('portal_sessions_expires_idx').on(t.expiresAt)],
);

/** A project's portal settings: which sites may frame the portal (CSP `frame-ancestors`). */
export const portalSettings = pgTable('portal_settings', {
  projectId: text('project_id')
    .primaryKey()
    .references(() => projects.id, { onDelete: 'cascade' }),
  frameAncestors: text('frame_ancestors').array().notNull().default([]),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});
