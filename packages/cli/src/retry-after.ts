/** The longest wait the CLI reports or honours from a Retry-After header: a day, as the dispatcher caps it. */
export const MAX_RETRY_AFTER_SECONDS = 86_400;

/**
 * A Retry-After header in seconds from `now` (RFC 9110: delta-seconds or an HTTP-date), capped at a day;
 * null when absent or not one of those forms (`Number(null)` would read an absent header as "retry at once").
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  const raw = value?.trim();
  if (!raw) return null;
  if (/^\d+$/.test(raw)) return Math.min(Number(raw), MAX_RETRY_AFTER_SECONDS);
  // V8's Date.parse accepts almost anything ('-5', '1.5'); HTTP-dates all start with a day name.
  if (!/^(mon|tue|wed|thu|fri|sat|sun)[a-z]*,? /i.test(raw)) return null;
  // asctime dates carry no zone; HTTP-dates are always GMT, never the host's local time.
  const at = Date.parse(/\b(gmt|utc)\b/i.test(raw) ? raw : `${raw} GMT`);
  if (Number.isNaN(at)) return null;
  return Math.min(Math.max(0, Math.ceil((at - now) / 1000)), MAX_RETRY_AFTER_SECONDS);
}
