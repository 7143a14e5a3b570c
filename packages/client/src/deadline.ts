/**
 * An AbortSignal that aborts with a `TimeoutError` after `ms` milliseconds, as `AbortSignal.timeout`
 * does, but held by its own timer until then. Node 20's `AbortSignal.timeout` is held only weakly:
 * inside `AbortSignal.any` (a caller's signal and a deadline) it can be garbage-collected before it
 * fires, and the combined signal then never aborts (nodejs/node#57736), so a server that trickles
 * its answer would hold the call forever. The timer is unref'd: it keeps no process alive.
 */
export function timeoutSignal(ms: number): AbortSignal {
  return deadline(ms).signal;
}

/** timeoutSignal, with `clear` to drop its timer once the work it bounds is over. */
export function deadline(ms: number): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
    ms,
  );
  (timer as { unref?: () => void }).unref?.();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
