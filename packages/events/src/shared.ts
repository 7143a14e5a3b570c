import { z } from 'zod';

/**
 * ISO-8601 in UTC with a `Z` suffix, as produced by `Date#toISOString()`.
 * Offsets are rejected so that consumers can compare timestamps as strings.
 */
export const isoTimestampSchema = z.iso.datetime();

export const nonEmptyIdSchema = z.string().min(1);
