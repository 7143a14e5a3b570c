import type { apiKeys } from '@herald/db';
import { z } from 'zod';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from '../../services/text';

export const apiKeySchema = z.object({
  id: z.string(),
  name: z.string(),
  /** The first characters of the key, to recognise it; never the key. */
  prefix: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});

/** Returned once, at creation: the only time the key itself is shown. */
export const createdApiKeySchema = apiKeySchema.extend({ key: z.string() });

export const apiKeyNameSchema = z.string().trim().min(1).max(100).refine(isStorableText, UNSTORABLE_TEXT_MESSAGE);

export function toApiKey(row: typeof apiKeys.$inferSelect): z.infer<typeof apiKeySchema> {
  return {
    id: row.id,
    name: row.name,
    prefix: row.keyPrefix,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}
