/**
 * Notices a connection that went quiet without closing (a sleeping laptop's NAT, a proxy that keeps
 * the socket but drops the traffic): `signal` aborts when `idleMs` pass without a `touch`. Paused while
 * the reader itself is not reading, so that its own wait is not taken for silence.
 */
export interface IdleWatchdog {
  signal: AbortSignal;
  /** Bytes arrived: the silence starts again from now (unless paused). */
  touch(): void;
  pause(): void;
  resume(): void;
  stop(): void;
}

export function createIdleWatchdog(idleMs: number): IdleWatchdog {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let paused = false;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new Error(`no data for ${idleMs} ms`)), idleMs);
  };
  arm();
  return {
    signal: controller.signal,
    touch() {
      if (!paused) arm();
    },
    pause() {
      paused = true;
      clearTimeout(timer);
    },
    resume() {
      paused = false;
      arm();
    },
    stop() {
      paused = true;
      clearTimeout(timer);
    },
  };
}

/** `body` as it is, calling `watchdog.touch()` for every chunk that arrives. */
export function watchBody(body: ReadableStream<Uint8Array>, watchdog: IdleWatchdog): ReadableStream<Uint8Array> {
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        watchdog.touch();
        controller.enqueue(chunk);
      },
    }),
  );
}
