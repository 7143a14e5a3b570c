/**
 * Delays between reconnects: doubling from `initialMs` up to `maxMs`, each drawn from the upper half of
 * its step so that many CLIs dropped by one API restart do not all come back in the same instant.
 */
export function createBackoff({ initialMs = 500, maxMs = 10_000 } = {}) {
  let step = 0;
  return {
    next(): number {
      const ceiling = Math.min(maxMs, initialMs * 2 ** step);
      step = Math.min(step + 1, 30);
      return Math.round(ceiling * (0.5 + Math.random() * 0.5));
    },
    reset() {
      step = 0;
    },
  };
}

/** Resolves after `ms`, or at once when `signal` aborts (Ctrl-C must not wait out a backoff). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
