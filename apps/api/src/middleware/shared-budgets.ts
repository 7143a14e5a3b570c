import type { Database } from '@herald/db';
import { executeRows } from '@herald/db';
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';

/**
 * Rate-limit budgets shared by the API processes of one database, so that a key's budget is one
 * budget however many processes a load balancer spreads its requests over (counted in each
 * process alone, N processes let a key make N times its limit, all at once at a window's start).
 *
 * Not a round trip per request: a process reserves part of a window's limit in
 * `rate_limit_counts` (one upsert that never lets the reservations pass the limit), grants from
 * its reservation in memory, and reserves again when it runs out. A reservation is a tenth of the
 * limit, or what a request needs: a process asks once per window for a key well under its limit,
 * ten times for a key at it. What a process reserved and did not use is lost with its window, so
 * a key spread over N processes may be refused up to N tenths early, never let past its limit.
 * Windows are aligned to the clock (`start = t - t % window`): every process must mean the same
 * one. A database that does not answer leaves each process its own count until it does.
 */
export interface SharedBudgets {
  /**
   * Takes up to `n` of the window's `limit` for this process: how many it got, at once when this
   * process's reservation covers them (nearly every request), else once a reservation is made.
   */
  take(bucket: string, windowStart: number, limit: number, n: number): number | Promise<number>;
  /** Gives back `n` taken and not used (another budget of the same request refused it). */
  giveBack(bucket: string, windowStart: number, n: number): void;
  /** What is left of the window's limit, as far as this process knows. */
  left(bucket: string, windowStart: number, limit: number): number;
  stop(): void;
}

interface Reservation {
  /** Reserved for this process in the table. */
  reserved: number;
  /** Of which granted to requests. */
  used: number;
  /** The table's count after this process's last reservation (every process's). */
  known: number;
  /** The reservation being made, which the next takes wait for. */
  turn: Promise<void>;
}

/** How long a request waits for a reservation before its process counts alone. */
const RESERVE_WAIT_MS = 500;

/** How often each process deletes the rows of windows that have ended. */
const PURGE_EVERY_MS = 60_000;

export function sharedBudgets(
  db: Database,
  options: { windowMs: number; logger?: Logger; now?: () => number },
): SharedBudgets {
  const now = options.now ?? Date.now;
  const reservations = new Map<string, Reservation>();
  let lastSweep = now();
  let lastPurge = now();
  const keyOf = (bucket: string, windowStart: number) => `${windowStart}:${bucket}`;

  function sweep() {
    const t = now();
    if (t - lastSweep < options.windowMs) return;
    lastSweep = t;
    const current = t - (t % options.windowMs);
    for (const key of reservations.keys()) {
      if (Number(key.slice(0, key.indexOf(':'))) < current) reservations.delete(key);
    }
    if (t - lastPurge >= PURGE_EVERY_MS) {
      lastPurge = t;
      // Windows before the previous one: ended, whatever the window's length (one more kept for
      // clocks that disagree a little).
      void db
        .execute(sql`delete from rate_limit_counts where window_start < ${current - options.windowMs}`)
        .catch(() => {});
    }
  }

  /**
   * Applies a reservation's answer: what it got (less what this process already granted itself
   * while waiting for it), and what every process has reserved now. A process never holds more
   * than the limit: a reservation answered late is not counted twice.
   */
  const apply = (r: Reservation, row: { last_grant: number; count: number }, limit: number, grantedAlone = 0) => {
    r.reserved = Math.min(limit, r.reserved + Math.max(0, row.last_grant - grantedAlone));
    r.known = Math.max(r.known, row.count);
  };

  async function reserve(bucket: string, windowStart: number, limit: number, r: Reservation, need: number) {
    const chunk = Math.max(need, Math.ceil(limit / 10));
    const answer = executeRows<{ last_grant: number; count: number }>(
      db,
      sql`insert into rate_limit_counts as r (bucket, window_start, count, last_grant)
          values (${bucket}, ${windowStart}, least(${chunk}::int, ${limit}::int), least(${chunk}::int, ${limit}::int))
          on conflict (bucket, window_start) do update
            set last_grant = least(${chunk}::int, greatest(${limit}::int - r.count, 0)),
                count = r.count + least(${chunk}::int, greatest(${limit}::int - r.count, 0))
          returning last_grant, count`,
    ).then(
      ([row]) => row!,
      (error: unknown) => {
        options.logger?.debug({ err: error }, 'reserving a shared rate-limit budget failed; counting alone');
        return null;
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(resolve, RESERVE_WAIT_MS, 'late');
    });
    const row = await Promise.race([answer, late]);
    clearTimeout(timer);
    if (row && row !== 'late') {
      apply(r, row, limit);
      return;
    }
    // The database did not answer in time (away, slow, or a connection being made): counted here
    // alone, rather than holding every request of the key until it does. A late answer still
    // counts, for what it granted beyond what was granted here in its place.
    const grantedAlone = Math.max(0, Math.min(chunk, limit - r.reserved));
    r.reserved += grantedAlone;
    r.known = Math.max(r.known, r.reserved);
    if (row === 'late') void answer.then((arrived) => arrived && apply(r, arrived, limit, grantedAlone));
  }

  return {
    take(bucket, windowStart, limit, n) {
      sweep();
      const key = keyOf(bucket, windowStart);
      let r = reservations.get(key);
      if (!r) {
        r = { reserved: 0, used: 0, known: 0, turn: Promise.resolve() };
        reservations.set(key, r);
      }
      if (r.reserved - r.used >= n) {
        r.used += n;
        return n;
      }
      // One reservation at a time per budget; each waiting request looks again in its turn (the
      // one before may have reserved enough for both) and takes its share there.
      const reservation = r;
      const granted = r.turn.then(async () => {
        // Requests granted from the reservation while it was being made may leave it short again.
        while (reservation.reserved - reservation.used < n && reservation.known < limit) {
          const before = reservation.reserved;
          await reserve(bucket, windowStart, limit, reservation, n - (reservation.reserved - reservation.used));
          if (reservation.reserved === before) break;
        }
        const got = Math.max(0, Math.min(n, reservation.reserved - reservation.used));
        reservation.used += got;
        return got;
      });
      r.turn = granted.then(() => undefined);
      return granted;
    },
    giveBack(bucket, windowStart, n) {
      const r = reservations.get(keyOf(bucket, windowStart));
      if (r) r.used = Math.max(0, r.used - n);
    },
    left(bucket, windowStart, limit) {
      const r = reservations.get(keyOf(bucket, windowStart));
      return r ? Math.max(0, limit - r.known) + (r.reserved - r.used) : limit;
    },
    stop() {
      reservations.clear();
    },
  };
}
