/**
 * How many deliveries `herald listen` forwards at once. A burst (a backlog after a restart, a broken or
 * hostile server) must not open a socket and a file descriptor per delivery: 20,000 at once ran the
 * process out of them. A development receiver rarely handles more in parallel anyway.
 */
export const MAX_FORWARDS_IN_FLIGHT = 16;

/** The forwards running now, by delivery id, at most `limit` of them. */
export interface ForwardPool {
  /** Whether this delivery is being forwarded now (the stream sent it again: its lease ran out meanwhile). */
  has(deliveryId: string): boolean;
  /**
   * Starts `task` for the delivery. Returns a promise that resolves once another may start when the pool
   * is full (the caller stops reading the stream until then), or undefined when it is not.
   */
  start(deliveryId: string, task: () => Promise<void>): Promise<void> | undefined;
  /** Resolves once every running task has ended. */
  settled(): Promise<void>;
}

export function createForwardPool(limit = MAX_FORWARDS_IN_FLIGHT): ForwardPool {
  const running = new Map<string, Promise<void>>();
  const waiting = new Set<() => void>();
  const roomLeft = () => running.size < limit;
  return {
    has: (deliveryId) => running.has(deliveryId),
    start(deliveryId, task) {
      // `task` must not reject (the caller reports its failures): a rejection here would go unhandled.
      const work = task().finally(() => {
        running.delete(deliveryId);
        for (const wake of waiting) wake();
      });
      running.set(deliveryId, work);
      if (roomLeft()) return undefined;
      return new Promise<void>((resolve) => {
        const wake = () => {
          if (!roomLeft()) return;
          waiting.delete(wake);
          resolve();
        };
        waiting.add(wake);
      });
    },
    async settled() {
      await Promise.allSettled([...running.values()]);
    },
  };
}
