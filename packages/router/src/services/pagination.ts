import { z } from 'zod';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from './text';

/**
 * A page size: an integer from JSON (tRPC, bodies), or the digits of one from a query string (REST).
 * Not `z.coerce.number()`, which took whatever `Number()` takes (`0x10`, ` 5`, `1e1`, `true`, `[7]`).
 */
export const listLimitSchema = z.preprocess(
  (value) => (typeof value === 'string' && /^-?[0-9]{1,15}$/.test(value) ? Number(value) : value),
  z.int().min(1).max(100).default(20),
);
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
  return toKeysetPage(rows, limit, (row) => row.id);
}

/**
 * `toPage` for a list ordered by more than its id: `cursorOf` makes the next
 * page's cursor from the page's last row (see `encodeCursor`).
 */
export function toKeysetPage<T>(rows: T[], limit: number, cursorOf: (row: T) => string) {
  const data = rows.slice(0, limit);
  const last = data.at(-1);
  const nextCursor = rows.length > limit && last !== undefined ? cursorOf(last) : null;
  return { data, nextCursor };
}

/**
 * An opaque cursor made of a row's sort keys (base64url). Clients pass it
 * back without reading it, so a list may change what its order is made of.
 * Keys must not contain a line feed.
 */
export function encodeCursor(keys: readonly string[]): string {
  return Buffer.from(keys.join('\n'), 'utf8').toString('base64url');
}

/** The `count` keys of a cursor made by `encodeCursor`, or null for anything else. */
export function decodeCursor(cursor: string, count: number): string[] | null {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  const keys = Buffer.from(cursor, 'base64url').toString('utf8').split('\n');
  return keys.length === count ? keys : null;
}
