import { z } from 'zod';

/** Clock skew a past-only timestamp may show: a client's clock a little ahead of ours. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** The earliest instant Herald takes: nothing it stores is older than the Unix epoch. */
const EARLIEST = Date.UTC(1970, 0, 1);

/** The last instant a filter may name: later ones (`9999-12-31T23:59:59-14:00` is year 10000 in UTC) no column takes. */
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

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

/**
 * An ISO 8601 date-time with an offset between 1970-01-01 and the end of 9999 (UTC): a bound of a
 * time filter (`since`, `until`). PostgreSQL refuses year 0000 and years past 9999 in a date-time's
 * text, so they answer 400 here, not 500.
 */
export function timestampBoundSchema() {
  return z.iso.datetime({ offset: true }).refine(
    (text) => {
      const at = Date.parse(text);
      return at >= EARLIEST && at <= LATEST;
    },
    { message: 'must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z' },
  );
}
