/**
 * How many deliveries `herald listen` forwards at once. A burst (a backlog after a restart, a broken or
 * hostile server) must not open a socket and a file descriptor per delivery: 20,000 at once ran the
 * process out of them. A development receiver rarely handles more in parallel anyway.
 */
export const MAX_FORWARDS_IN_FLIGHT = 16;

/** One delivery being forwarded. */
export interface Forward {
  /**
   * The stream session that holds the delivery's lease now, which its report must name. It changes when
   * the stream reconnects and the new stream sends the delivery again while it is forwarded.
   */
  session: string;
}

/** The forwards running now, by delivery id, at most `limit` of them. */
export interface ForwardPool {
  /** The delivery's forward running now, if any (the stream sent it again: a reconnect, or its lease ran out). */
  get(deliveryId: string): Forward | undefined;
  /**
   * Starts `task` for the delivery, leased to `session`. Returns a promise that resolves once another may
   * start when the pool is full (the caller stops reading the stream until then), or undefined when it is not.
   */
  start(deliveryId: string, session: string, task: (forward: Forward) => Promise<void>): Promise<void> | undefined;
  /** Resolves once every running task has ended. */
  settled(): Promise<void>;
}

export function createForwardPool(limit = MAX_FORWARDS_IN_FLIGHT): ForwardPool {
  const running = new Map<string, { forward: Forward; work: Promise<void> }>();
  const waiting = new Set<() => void>();
  const roomLeft = () => running.size < limit;
  return {
    get: (deliveryId) => running.get(deliveryId)?.forward,
    start(deliveryId, session, task) {
      const forward: Forward = { session };
      // `task` must not reject (the caller reports its failures): a rejection here would go unhandled.
      const work = task(forward).finally(() => {
        running.delete(deliveryId);
        for (const wake of waiting) wake();
      });
      running.set(deliveryId, { forward, work });
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
      await Promise.allSettled([...running.values()].map((entry) => entry.work));
    },
  };
}
