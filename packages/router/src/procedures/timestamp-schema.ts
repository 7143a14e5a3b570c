import { z } from 'zod';

/** Clock skew a past-only timestamp may show: a client's clock a little ahead of ours. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** The earliest instant Herald takes: nothing it stores is older than the Unix epoch. */
const EARLIEST = Date.UTC(1970, 0, 1);

/**
 * An ISO 8601 date-time with an offset, not before 1970 and not in the future
 * (beyond `CLOCK_SKEW_MS`): "since when" inputs. Years like 0000 or 275760
 * parse as dates but no database column takes them, so they answer 400 here.
 */
export function pastTimestampSchema() {
  return z.iso
    .datetime({ offset: true })
    .refine((text) => Date.parse(text) >= EARLIEST, { message: 'must not be before 1970-01-01T00:00:00Z' })
    .refine((text) => Date.parse(text) <= Date.now() + CLOCK_SKEW_MS, { message: 'must not be in the future' });
}
