import type { users } from '@herald/db';
import type { UserSnapshot } from '@herald/events';
import { userSnapshotSchema } from '@herald/events';
import { z } from 'zod';
import { isStorableJson, isStorableText, UNSTORABLE_TEXT_MESSAGE } from '../../services/text';
import { checkedFirst, jsonbTextWithin } from '../bounded-input';
import { idSchema } from '../id-schema';
import { withoutProtoKeys } from '../own-keys';

export const emailSchema = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email())
  .transform((email) => email.toLowerCase());

/** With the `u` flag a pair is one code point: only a surrogate on its own matches. */
const LONE_SURROGATE = /\p{Surrogate}/u;
/**
 * A new password. Lone surrogates are refused: hashing encodes the password as UTF-8, where each
 * becomes U+FFFD, so `pass\uD800word` and `pass\uDFFFword` would be one password. (A login still
 * takes any string, as passwords set before this rule may hold them.)
 */
export const passwordSchema = z
  .string()
  .min(8)
  .max(256)
  .refine((password) => !LONE_SURROGATE.test(password), 'a password may not hold lone surrogates (malformed UTF-16)');
export const userNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .refine(isStorableText, UNSTORABLE_TEXT_MESSAGE)
  .nullable();
export const rolesSchema = z
  // Spelled out rather than /i: JSON Schema patterns have no flags, and the document showed lower case only.
  .array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, 'role names are 1–64 letters, digits, _ . : -'))
  .max(50)
  .transform((roles) => [...new Set(roles)]);
const METADATA_TOO_LARGE = 'metadata must serialize to at most 8 KB';
export const metadataSchema = checkedFirst(
  (value) => (jsonbTextWithin(value, 8192) ? null : METADATA_TOO_LARGE),
  withoutProtoKeys(
    z
      .record(z.string().max(100), z.json())
      .refine((m) => JSON.stringify(m).length <= 8192, METADATA_TOO_LARGE)
      .refine(isStorableJson, UNSTORABLE_TEXT_MESSAGE),
  ),
);
export const userIdSchema = idSchema('user');

/** The public shape of a user: the webhook snapshot, never the password. */
export const userSchema = userSnapshotSchema;

export function toUser(row: typeof users.$inferSelect): UserSnapshot {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    roles: row.roles,
    metadata: row.metadata,
    status: row.status,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
