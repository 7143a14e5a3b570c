import { EventEmitter } from 'node:events';
import type { HeraldDb } from '@herald/db';

export const DELIVERIES_CHANNEL = 'herald_deliveries';

export interface DeliveryWakeup {
  /** Tell dispatchers that deliveries are due. Cheap; calls are coalesced. */
  notify(): void;
  /** Run `listener` when any process says deliveries are due. */
  subscribe(listener: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/**
 * Wakes dispatchers after deliveries are committed. A NOTIFY inside every
 * insert transaction serializes commits on a global lock, so it is sent
 * after commit, outside the transaction: at once for the first commit, then
 * at most once per `coalesceMs` per process however many events were written. Dispatchers
 * also poll, so a lost notification only costs latency.
 *
 * On PGlite the api and the dispatcher share one process: an in-process
 * emitter does the same job.
 */
export function createDeliveryWakeup(herald: HeraldDb, options: { coalesceMs?: number } = {}): DeliveryWakeup {
  const coalesceMs = options.coalesceMs ?? 2;
  const local = new EventEmitter();
  local.setMaxListeners(0);
  // Leading edge at once (calls in one tick fold together), then at most one
  // more per window, sent at its end if anything asked meanwhile.
  let windowOpen = false;
  let leadingQueued = false;
  let pending = false;
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  const send = () => {
    if (closed) return;
    if (herald.sql) {
      herald.sql.notify(DELIVERIES_CHANNEL, '').catch(() => {
        // A missed wakeup is covered by the dispatchers' polling.
      });
    } else {
      local.emit('due');
    }
  };

  const closeWindow = () => {
    timer = null;
    if (pending && !closed) {
      pending = false;
      send();
      openWindow();
    } else {
      windowOpen = false;
    }
  };

  const openWindow = () => {
    windowOpen = true;
    timer = setTimeout(closeWindow, coalesceMs);
    timer.unref?.();
  };

  return {
    notify() {
      if (closed) return;
      if (windowOpen) {
        // A call before the leading NOTIFY went out is covered by it.
        if (!leadingQueued) pending = true;
        return;
      }
      openWindow();
      leadingQueued = true;
      setImmediate(() => {
        leadingQueued = false;
        send();
      });
    },
    async subscribe(listener) {
      if (herald.sql) {
        const { unlisten } = await herald.sql.listen(DELIVERIES_CHANNEL, () => listener());
        return unlisten;
      }
      local.on('due', listener);
      return async () => {
        local.off('due', listener);
      };
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      local.removeAllListeners();
    },
  };
}
