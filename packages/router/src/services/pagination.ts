import { z } from 'zod';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from './text';

export const listLimitSchema = z.coerce.number().int().min(1).max(100).default(20);
export const cursorSchema = z.string().min(1).max(100).refine(isStorableText, UNSTORABLE_TEXT_MESSAGE);

export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({
    data: z.array(item),
    /** Pass as `cursor` to get the next page; null on the last page. */
    nextCursor: z.string().nullable(),
  });
}

/** Fetch `limit + 1` rows ordered by id; the extra row says whether there is more. */
export function toPage<T extends { id: string }>(rows: T[], limit: number) {
  const data = rows.slice(0, limit);
  const nextCursor = rows.length > limit ? (data.at(-1)?.id ?? null) : null;
  return { data, nextCursor };
}
